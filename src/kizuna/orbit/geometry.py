"""Orbit geometry shared by every analysis: the RTN frame (written once)."""

from __future__ import annotations

import numpy as np


def rtn_basis(r_km: np.ndarray, v_kms: np.ndarray) -> np.ndarray:
    """Rows are the radial, transverse (in-track) and normal unit vectors (CCSDS 508.0-B-1 3.2).

    Works on one state (shape (3,) -> (3, 3)) or a stack ((..., 3) -> (..., 3, 3)). A degenerate
    state (zero radius or r parallel to v) gives NaN rows rather than a warning, so one bad object
    never stops a vectorized run.
    """
    r = np.asarray(r_km, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.cross(r, v_kms)
        ur = r / np.linalg.norm(r, axis=-1, keepdims=True)
        un = h / np.linalg.norm(h, axis=-1, keepdims=True)
        ut = np.cross(un, ur)
    return np.stack([ur, ut, un], axis=-2)


def to_rtn(r_km: np.ndarray, v_kms: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Components of vectors `d` (..., 3) in the RTN frame of the states (r, v): (..., 3)."""
    return np.einsum("...ij,...j->...i", rtn_basis(r_km, v_kms), np.asarray(d, dtype=float))
