"""Missile warning and tracking: threat trajectories, warning-sensor architectures, detection,
stereo tracking, impact prediction and the assessment that compares architectures.

An analysis layer: pure, vectorized functions over arrays and :mod:`kizuna.model.missile`
records; no files, sockets or presentation.
"""
