"""The TEME -> GCRS/ITRF rotation is built once per propagation, not once per chunk of objects:
building it (sidereal time, precession-nutation) cost more than SGP4 on a catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.orbit import frames
from kizuna.orbit.propagate import iter_propagate

SAMPLE = Path(__file__).parents[1] / "src" / "kizuna" / "data" / "sample" / "leo_2026-06_sample.3le"


@pytest.mark.parametrize("frame", ["gcrs", "itrf"])
def test_the_rotation_is_built_once_for_every_chunk(frame: str, monkeypatch) -> None:  # noqa: ANN001
    sets = read_path(SAMPLE).records[:40]
    times = np.datetime64("2026-06-11T00:00") + np.arange(60) * np.timedelta64(60, "s")
    built = {"gmst82": 0}
    real = frames.erfa.gmst82

    def counting(*args):  # noqa: ANN002, ANN202
        built["gmst82"] += 1
        return real(*args)

    monkeypatch.setattr(frames.erfa, "gmst82", counting)
    parts = list(iter_propagate(sets, times, frame, chunk_states=600))  # 10 objects per chunk
    assert len(parts) == 4
    assert built["gmst82"] == 1
    # and each chunk is rotated exactly as the one-shot conversion does it
    teme = list(iter_propagate(sets, times, "teme", chunk_states=600))
    convert = frames.teme_to_gcrs if frame == "gcrs" else frames.teme_to_itrf
    for part, raw in zip(parts, teme, strict=True):
        r, v = convert(raw.position_km, raw.velocity_kms, times)
        np.testing.assert_array_equal(part.position_km, r)
        np.testing.assert_array_equal(part.velocity_kms, v)
