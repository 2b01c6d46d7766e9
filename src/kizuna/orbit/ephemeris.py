"""Precise ephemerides (an OEM's or a CPF's states at epochs) as a truth orbit: interpolation with
the method and degree the file declares, and the states in TEME, GCRS or ITRF at any instant inside.

- ``lagrange``: the polynomial of degree N through the N + 1 nodes nearest the instant (CCSDS OEM
  ``INTERPOLATION = LAGRANGE``, ``INTERPOLATION_DEGREE = N``; ILRS CPF files, which carry positions
  only, as Orekit reads them: 10 nodes, degree 9). Velocities, where the file has none, are the
  polynomial's derivative.
- ``hermite``: the polynomial of degree N through the nodes nearest the instant matching positions
  and velocities ((N + 1) / 2 nodes; OEM ``HERMITE``).
- ``linear``: between the two bracketing nodes (OEM ``LINEAR``).

Times are UTC ``datetime64[ns]``; an instant outside the ephemeris is NaN (never extrapolated).
Frames: ``EME2000`` states are taken as GCRS (the frame bias, 23 mas, moves a GEO position by
under 5 m); ``ITRF`` (any realisation: ITRF2014, ITRF-93, ...) as the ITRF of ``kizuna.orbit.frames``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.orbit.frames import FrameRotation, TimeScales

METHODS = ("lagrange", "hermite", "linear")
#: reference frames an ephemeris may be in, by the names OEM REF_FRAME and CPF use, to kizuna's
FRAMES = {
    "GCRF": "gcrs",
    "GCRS": "gcrs",
    "ICRF": "gcrs",
    "EME2000": "gcrs",
    "J2000": "gcrs",
    "TEME": "teme",
    "ITRF": "itrf",
    "ITRF93": "itrf",
    "ITRF97": "itrf",
    "ITRF2000": "itrf",
    "ITRF2005": "itrf",
    "ITRF2008": "itrf",
    "ITRF2014": "itrf",
    "ITRF2020": "itrf",
    "ITRF-93": "itrf",
    "ITRF-97": "itrf",
}


class EphemerisError(ValueError):
    """An ephemeris that cannot be interpolated (too few states, unknown method or frame)."""


def frame_of(name: str) -> str:
    """kizuna's frame ("gcrs", "teme", "itrf") for a file's reference frame name."""
    key = name.strip().upper()
    if key in FRAMES:
        return FRAMES[key]
    if key.startswith("ITRF"):
        return "itrf"
    raise EphemerisError(f"reference frame {name!r} is not supported (known: {', '.join(sorted(FRAMES))})")


def _poly_eval(
    tau: np.ndarray, nodes: np.ndarray, values: np.ndarray, derivs: np.ndarray | None, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Value and derivative at x of the polynomial through (nodes, values) (and derivs, confluent),
    per query row. tau: (Q, m) scaled node times; values/derivs (Q, m, 3); x (Q,). Node times are
    scaled to [-1, 1] by the caller so the Vandermonde system stays well conditioned."""
    q, m = tau.shape
    n = m if derivs is None else 2 * m
    powers = np.arange(n)
    rows = tau[:, :, None] ** powers[None, None, :]  # (Q, m, n)
    rhs = values
    if derivs is not None:
        drows = powers[None, None, :] * tau[:, :, None] ** np.maximum(powers - 1, 0)[None, None, :]
        rows = np.concatenate([rows, drows], axis=1)
        rhs = np.concatenate([values, derivs], axis=1)
    coef = np.linalg.solve(rows, rhs)  # (Q, n, 3)
    xp = x[:, None] ** powers[None, :]
    dxp = powers[None, :] * x[:, None] ** np.maximum(powers - 1, 0)[None, :]
    return np.einsum("qn,qnk->qk", xp, coef), np.einsum("qn,qnk->qk", dxp, coef)


@dataclass(frozen=True)
class Ephemeris:
    """States at epochs (strictly increasing) in one frame, and how to interpolate between them."""

    epochs_utc: np.ndarray  # (T,) datetime64[ns]
    position_km: np.ndarray  # (T, 3)
    velocity_kms: np.ndarray | None  # (T, 3) or None (positions only: velocity from the polynomial)
    frame: str  # "gcrs", "teme" or "itrf"
    method: str = "lagrange"
    degree: int = 9
    name: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise EphemerisError(f"interpolation {self.method!r} is not one of {', '.join(METHODS)}")
        if self.frame not in ("gcrs", "teme", "itrf"):
            raise EphemerisError(f"frame {self.frame!r} is not gcrs, teme or itrf")
        if self.method == "hermite" and self.velocity_kms is None:
            raise EphemerisError("Hermite interpolation needs velocities")
        if len(self.epochs_utc) < self.nodes:
            raise EphemerisError(
                f"{len(self.epochs_utc)} states: {self.method} interpolation of degree {self.degree} "
                f"needs {self.nodes}"
            )
        if not (np.diff(self.epochs_utc.astype("int64")) > 0).all():
            raise EphemerisError("epochs are not strictly increasing")

    @property
    def nodes(self) -> int:
        """States each interpolation uses."""
        if self.method == "linear":
            return 2
        if self.method == "hermite":
            return max(2, (self.degree + 2) // 2)
        return self.degree + 1

    @property
    def start_utc(self) -> np.datetime64:
        return self.epochs_utc[0]

    @property
    def stop_utc(self) -> np.datetime64:
        return self.epochs_utc[-1]

    def interpolate(self, times_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position [km] and velocity [km/s] in the ephemeris' own frame; NaN outside its span."""
        t = np.asarray(times_utc, "datetime64[ns]").reshape(-1)
        base = self.epochs_utc[0]
        node_s = (self.epochs_utc - base).astype("int64") / 1e9
        ts = (t - base).astype("int64") / 1e9
        inside = (t >= self.epochs_utc[0]) & (t <= self.epochs_utc[-1]) & ~np.isnat(t)
        r = np.full((len(t), 3), np.nan)
        v = np.full((len(t), 3), np.nan)
        if not inside.any():
            return r, v
        x = ts[inside]
        m = self.nodes
        # the window of m nodes centred on the instant (shifted inward at the ends)
        right = np.searchsorted(node_s, x, side="right")
        first = np.clip(right - m // 2 - (m % 2), 0, len(node_s) - m)
        idx = first[:, None] + np.arange(m)[None, :]
        tn = node_s[idx]
        centre = 0.5 * (tn[:, 0] + tn[:, -1])
        half = np.maximum(0.5 * (tn[:, -1] - tn[:, 0]), 1e-9)
        tau = (tn - centre[:, None]) / half[:, None]
        xs = (x - centre) / half
        pos = self.position_km[idx]
        if self.method == "hermite":
            assert self.velocity_kms is not None
            p, dp = _poly_eval(tau, tn, pos, self.velocity_kms[idx] * half[:, None, None], xs)
            vel = dp / half[:, None]
        else:
            p, dp = _poly_eval(tau, tn, pos, None, xs)
            vel = dp / half[:, None]
            if self.velocity_kms is not None:
                vel, _ = _poly_eval(tau, tn, self.velocity_kms[idx], None, xs)
        r[inside], v[inside] = p, vel
        return r, v

    def states(self, times_utc: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
        """Position [km] and velocity [km/s] in ``frame`` ("teme", "gcrs" or "itrf") at the times."""
        t = np.asarray(times_utc, "datetime64[ns]").reshape(-1)
        r, v = self.interpolate(t)
        if frame == self.frame:
            return r, v
        scales = TimeScales(np.where(np.isnat(t), self.epochs_utc[0], t))
        # to TEME first (each FrameRotation goes TEME -> its frame; its transpose comes back)
        if self.frame == "gcrs":
            m = FrameRotation("gcrs", scales).m
            r, v = np.einsum("tji,tj->ti", m, r), np.einsum("tji,tj->ti", m, v)
        elif self.frame == "itrf":
            rot = FrameRotation("itrf", scales)
            assert rot.k is not None
            r_teme = np.einsum("tji,tj->ti", rot.m, r)
            # v_itrf = M v_teme + K r_teme  =>  v_teme = M^T (v_itrf - K r_teme)
            v = np.einsum("tji,tj->ti", rot.m, v - np.einsum("tij,tj->ti", rot.k, r_teme))
            r = r_teme
        if frame == "teme":
            return r, v
        r_out, v_out = FrameRotation(frame, scales).apply(r[None], v[None])
        return r_out[0], v_out[0]
