"""Tracking data and orbit-determination results as shareable product payloads, and back.

An ``observations`` payload carries a CCSDS TDM as text with a few members a receiving node can
filter on without parsing it (the object, the count, the participants); an ``orbit_determination``
payload carries the estimate as an OPM with its covariance, the fitted TLE, and the products or files
it was fitted from. The shapes are checked on every node by :mod:`kizuna.share.payloads`; the
messages are read here with :mod:`kizuna.formats`, which name the product and the line of a bad one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from kizuna.errors import FormatError
from kizuna.formats.oem import Oem
from kizuna.formats.opm import Opm, read_opm_kvn, write_opm_kvn
from kizuna.formats.tdm import Tdm, read_tdm
from kizuna.ssa import od

OBSERVATIONS = "observations"
ORBIT_DETERMINATION = "orbit_determination"


def observations_payload(tdm_text: str, tdm: Tdm, norad_id: int) -> dict[str, object]:
    """The payload of a TDM (its text as read, so the bytes the partner parses are the originator's),
    with its object, number of observations, participants and span."""
    epochs = [o.epoch for s in tdm.segments for o in s.observations]
    participants = sorted({s.metadata.get("PARTICIPANT_1", "") for s in tdm.segments} - {""})
    return {
        "format": "ccsds-tdm-xml" if tdm_text.lstrip().startswith("<") else "ccsds-tdm-kvn",
        "tdm": tdm_text,
        "norad_id": int(norad_id),
        "observations": tdm.observations,
        "participants": participants,
        "start_utc": _iso(min(epochs)) if epochs else None,
        "stop_utc": _iso(max(epochs)) if epochs else None,
    }


def tdm_of_payload(payload: Mapping[str, object], product_id: str) -> Tdm:
    """The TDM an observations payload carries, read with the product id as its file name (so a bad
    line is reported as ``product--...: line 12: ...``); raises FormatError."""
    text = payload.get("tdm")
    if not isinstance(text, str):
        raise FormatError(product_id, 0, "tdm", "the payload carries no TDM text")
    return read_tdm(text, product_id)


def orbit_determination_payload(
    result: od.OdResult,
    norad_id: int,
    object_name: str,
    tle: tuple[str, str] | None,
    sources: Sequence[str],
    measurements: int,
    originator: str,
) -> dict[str, object]:
    """The payload of a fit: the OPM (state and covariance, EME2000, km), the fitted TLE, the position
    sigma (root of the covariance's position trace, m), what it was fitted from and how."""
    opm = od.opm_of(result, object_name, str(norad_id), originator)
    return {
        "format": "ccsds-opm-kvn",
        "opm": write_opm_kvn(opm),
        "tle": list(tle) if tle is not None else None,
        "norad_id": int(norad_id),
        "epoch_utc": _iso(result.epoch),
        "method": result.method,
        "measurements": int(measurements),
        "rms_normalized": float(result.rms) if np.isfinite(result.rms) else None,
        "position_sigma_m": float(result.position_sigma_m),
        "sources": list(sources),
    }


def opm_of_payload(payload: Mapping[str, object], product_id: str) -> Opm:
    text = payload.get("opm")
    if not isinstance(text, str):
        raise FormatError(product_id, 0, "opm", "the payload carries no OPM text")
    return read_opm_kvn(text, product_id)


def estimate_from_opm(opm: Opm, options: od.OdOptions | None = None) -> od.OdResult:
    """An OPM with a covariance as an estimate that can be carried to a TCA (EME2000 only: the
    state and the covariance are used as they are); raises OdError naming the file."""
    if opm.covariance_km is None:
        raise od.OdError(f"{opm.file}: the OPM carries no covariance")
    for frame in (opm.metadata.get("REF_FRAME"), opm.cov_ref_frame or opm.metadata.get("REF_FRAME")):
        if frame != od.ok.INERTIAL_FRAME:
            raise od.OdError(f"{opm.file}: REF_FRAME {frame} is not supported (EME2000 only)")
    if opm.metadata.get("TIME_SYSTEM", "UTC") != "UTC":
        raise od.OdError(
            f"{opm.file}: TIME_SYSTEM {opm.metadata.get('TIME_SYSTEM')} is not supported (UTC only)"
        )
    epoch = _datetime(opm.epoch)
    return od.result_from_state(
        epoch, np.asarray(opm.state_km) * 1e3, np.asarray(opm.covariance_km) * 1e6, options
    )


def estimate_from_oem(oem: Oem, near: datetime | None, options: od.OdOptions | None = None) -> od.OdResult:
    """The state and covariance of an OEM at the covariance epoch nearest `near` (default: the first)
    that is also a state epoch, as an estimate carried from there by the numerical force model (an
    OEM of our own fits was made by that model); raises OdError naming the file."""
    best: tuple[float, np.ndarray, np.ndarray, np.datetime64] | None = None
    for segment in oem.segments:
        frame = segment.metadata.get("REF_FRAME")
        if frame != od.ok.INERTIAL_FRAME or segment.metadata.get("TIME_SYSTEM", "UTC") != "UTC":
            continue
        index = {e: i for i, e in enumerate(segment.epochs)}
        for cov in segment.covariances:
            if (cov.frame or frame) != od.ok.INERTIAL_FRAME or cov.epoch not in index:
                continue
            gap = 0.0 if near is None else abs((_datetime(cov.epoch) - near).total_seconds())
            if best is None or gap < best[0]:
                best = (gap, segment.states[index[cov.epoch]], cov.matrix, cov.epoch)
    if best is None:
        raise od.OdError(f"{oem.file}: no EME2000, UTC covariance at a state epoch (an estimate needs both)")
    _, state_km, cov_km, epoch = best
    return od.result_from_state(
        _datetime(epoch), np.asarray(state_km) * 1e3, np.asarray(cov_km) * 1e6, options
    )


def estimate_from_tle(
    line1: str,
    line2: str,
    when: datetime,
    sigma_rtn: Sequence[float],
    options: od.OdOptions | None = None,
) -> od.OdResult:
    """A catalog object's SGP4 state at `when` (EME2000, through Orekit) with an assumed covariance:
    `sigma_rtn` is the 1-sigma radial, transverse, normal position (m) and velocity (m/s) error,
    rotated from the object's RTN frame into EME2000."""
    from kizuna.orbit.geometry import rtn_basis

    epoch, state = od.state_from_tle(line1, line2, when=when)
    basis = rtn_basis(state[:3], state[3:])  # rows: R, T, N in the inertial frame
    rotation = np.zeros((6, 6))
    rotation[:3, :3] = rotation[3:, 3:] = basis
    covariance = rotation.T @ np.diag(np.square(np.asarray(sigma_rtn, dtype=float))) @ rotation
    return od.result_from_state(epoch, state, covariance, options)


def _datetime(epoch: np.datetime64) -> datetime:
    microseconds = int((epoch - np.datetime64("1970-01-01T00:00:00", "ns")) // np.timedelta64(1, "us"))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
