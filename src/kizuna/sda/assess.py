"""Assess a received CDM, and turn a screening event into a CDM (CCSDS 508.0-B-1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike

from kizuna.formats.cdm import COVARIANCE_6X6_KEYS, STATE_KEYS, Cdm, CdmObject
from kizuna.orbit.frames import EARTH_ROTATION_RAD_S
from kizuna.orbit.geometry import rtn_basis
from kizuna.orbit.timescale import iso_utc
from kizuna.sda.pc import (
    PC_CHAN,
    PC_FOSTER,
    PC_MAX_ISOTROPIC,
    PC_MAX_SCALED,
    encounter_plane,
    pc_chan,
    pc_foster,
    pc_max_isotropic,
    rtn_to_inertial_cov,
)
from kizuna.sda.records import ConjunctionEvent

#: combined hard-body radius when the CDM states none [m] (two 5 m objects)
DEFAULT_COMBINED_HBR_M = 10.0
#: RTN 1-sigma assumed for a TLE state when a CDM must carry a covariance (km, km/s): the order
#: of the SGP4 prediction error a day out (Vallado & Cefola 2012, "Two-line element sets: practice
#: and use"). Marked COVARIANCE_METHOD = DEFAULT in the CDM.
TLE_DEFAULT_SIGMA_RTN = (0.2, 1.0, 0.2, 0.001, 0.0002, 0.0002)
#: COLLISION_PROBABILITY_METHOD for Alfano's maximum Pc, as the SANA registry of CDM collision
#: probability methods (which 508.0-B-1 refers to) spells it
CDM_MAX_PC_METHOD = "ALFANO-MAX-PROBABILITY"
_MAX_PC_METHODS = {CDM_MAX_PC_METHOD, PC_MAX_ISOTROPIC, PC_MAX_SCALED}


@dataclass(frozen=True)
class CdmAssessment:
    message_id: str
    tca_utc: datetime
    primary: str
    secondary: str
    miss_km: float
    rel_speed_kms: float
    hbr_m: float
    hbr_source: str
    pc: float
    pc_method: str
    pc_chan: float
    originator_pc: float | None
    originator_pc_method: str | None
    #: the message states a maximum Pc (worst case over an unknown covariance), not a probability
    #: from estimated covariances; `pc` is then what its covariance (the maximising one) gives
    maximum_pc: bool = False
    #: Alfano's isotropic maximum Pc from the message's geometry and HBR alone (maximum_pc only)
    pc_max_isotropic: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        d = dict(self.__dict__)
        d["tca_utc"] = self.tca_utc.isoformat()
        return d


def is_maximum_pc_message(cdm: Cdm) -> bool:
    """True when the CDM's COLLISION_PROBABILITY is a maximum Pc (Alfano), by its method."""
    method = str(cdm.relative.get("COLLISION_PROBABILITY_METHOD", "")).upper()
    return method in _MAX_PC_METHODS or "MAX-P" in method or "MAX_P" in method


def _inertial_state(obj: CdmObject) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity in a non-rotating frame (axes of REF_FRAME at TCA).

    The RTN frame of a covariance and the encounter plane follow the orbit, i.e. the inertial
    velocity. An ITRF velocity is Earth-relative (about 0.46 km/s off at the equator, tilting
    T and N by some 3.5 degrees), so add back omega x r for the ITRF axes frozen at TCA
    (polar motion, ~1e-6 rad, neglected). EME2000/GCRF states are used as they are."""
    r, v = obj.state_km()
    if obj.ref_frame.upper().startswith("ITRF"):
        v = v + np.cross(np.array([0.0, 0.0, EARTH_ROTATION_RAD_S]), r)
    return r, v


def assess_cdm(cdm: Cdm, hbr_m: float | None = None) -> CdmAssessment:
    """2-D Pc (Foster) and Chan cross-check from the CDM's states and RTN covariances.

    A message whose COLLISION_PROBABILITY_METHOD is a maximum-Pc method is reported as such
    (`maximum_pc`, `note`), with Alfano's isotropic maximum recomputed from its geometry."""
    o1, o2 = cdm.objects
    r1, v1 = _inertial_state(o1)
    r2, v2 = _inertial_state(o2)
    c1 = rtn_to_inertial_cov(o1.covariance_rtn_km2(), r1, v1)
    c2 = rtn_to_inertial_cov(o2.covariance_rtn_km2(), r2, v2)
    plane = encounter_plane(r1, v1, c1, r2, v2, c2)
    if hbr_m is not None:
        source = "given"
    elif cdm.hbr_m() is not None:
        hbr_m, source = cdm.hbr_m(), "CDM comment"
    else:
        hbr_m, source = DEFAULT_COMBINED_HBR_M, "default"
    assert hbr_m is not None
    pc = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, hbr_m / 1000.0)
    chan = pc_chan(plane.miss_2d_km, plane.cov_2d_km2, hbr_m / 1000.0)
    method = cdm.relative.get("COLLISION_PROBABILITY_METHOD")
    maximum = is_maximum_pc_message(cdm)
    pc_max = None
    note = ""
    if maximum:
        pc_max = float(pc_max_isotropic(float(np.linalg.norm(plane.miss_2d_km)), hbr_m / 1000.0)[0])
        note = (
            "the message states a MAXIMUM Pc (worst case over an unknown position covariance, from "
            "states without one), not a probability; pc is what the message's covariance gives"
        )
    return CdmAssessment(
        message_id=cdm.message_id,
        tca_utc=cdm.tca_utc,
        primary=f"{o1.designator} {o1.name}".strip(),
        secondary=f"{o2.designator} {o2.name}".strip(),
        miss_km=float(np.linalg.norm(r2 - r1)),
        rel_speed_kms=plane.rel_speed_kms,
        hbr_m=hbr_m,
        hbr_source=source,
        pc=pc,
        pc_method=PC_FOSTER,
        pc_chan=chan,
        originator_pc=cdm.collision_probability,
        originator_pc_method=None if method is None else str(method),
        maximum_pc=maximum,
        pc_max_isotropic=pc_max,
        note=note,
    )


def _covariance_6x6_m2(pos_cov_km2: np.ndarray, vel_sigma_kms: ArrayLike | None = None) -> np.ndarray:
    """A CDM 6x6 RTN covariance in m and m/s from a 3x3 position block in km^2."""
    cov = np.zeros((6, 6))
    cov[:3, :3] = np.asarray(pos_cov_km2, float) * 1e6
    if vel_sigma_kms is not None:
        cov[3:, 3:] = np.diag(np.square(np.asarray(vel_sigma_kms) * 1000.0))
    return cov


def event_to_cdm(
    event: ConjunctionEvent,
    *,
    originator: str = "KIZUNA",
    message_id: str | None = None,
    creation_utc: datetime | None = None,
) -> Cdm:
    """A CDM for one screening event: ITRF states at TCA (CDM 1.0 has no TEME frame), the
    relative state in the primary's RTN frame, and a covariance that agrees with the Pc written.

    - The event's Pc came from covariances (:func:`with_covariance_pc`): those position
      covariances are written, with method FOSTER-1992.
    - The event's Pc is the TLE-only maximum Pc (Alfano 2005; the states carry no covariance):
      COLLISION_PROBABILITY_METHOD is the registry's ALFANO-MAX-PROBABILITY and a COMMENT says
      the value is a maximum. CDM 1.0 makes the 6x6 covariance mandatory (508.0-B-1 table 3-5),
      so the message carries the covariance the maximum is attained at, an isotropic combined
      sigma split equally between the objects: re-assessing the message gives the maximum
      back, where the old fixed default covariance gave a Pc some 40 orders of magnitude lower.
    - No Pc: the assumed TLE default covariance, and no COLLISION_PROBABILITY.

    In every case the Pc written is computed from the message itself (:func:`assess_cdm`), so
    the message cannot contradict itself."""
    tca = iso_utc(np.array([event.tca_utc]))[0].rstrip("Z")
    creation = (creation_utc or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    rel_v = np.array(event.secondary_teme[3:]) - np.array(event.primary_teme[3:])

    basis = rtn_basis(np.array(event.primary_teme[:3]), np.array(event.primary_teme[3:]))
    rel_v_rtn = basis @ rel_v
    hbr_m = event.hbr_m if event.hbr_m is not None else DEFAULT_COMBINED_HBR_M
    hbr_source = event.hbr_source or "default"
    cdm = Cdm()
    cdm.header.update(
        {
            "CCSDS_CDM_VERS": "1.0",
            "CREATION_DATE": creation,
            "ORIGINATOR": originator,
            "MESSAGE_ID": message_id or f"{event.primary}_conj_{event.secondary}_{tca[:19]}",
        }
    )
    cdm.relative_comments.append(f"HBR = {hbr_m} [m] ({hbr_source})")
    cdm.relative.update(
        {
            "TCA": tca,
            "MISS_DISTANCE": round(event.miss_km * 1000, 3),
            "RELATIVE_SPEED": round(event.rel_speed_kms * 1000, 3),
            "RELATIVE_POSITION_R": round(event.radial_km * 1000, 3),
            "RELATIVE_POSITION_T": round(event.intrack_km * 1000, 3),
            "RELATIVE_POSITION_N": round(event.crosstrack_km * 1000, 3),
            "RELATIVE_VELOCITY_R": round(float(rel_v_rtn[0]) * 1000, 4),
            "RELATIVE_VELOCITY_T": round(float(rel_v_rtn[1]) * 1000, 4),
            "RELATIVE_VELOCITY_N": round(float(rel_v_rtn[2]) * 1000, 4),
        }
    )
    names = (
        (event.primary, event.primary_name, event.primary_object_id, event.primary_itrf),
        (event.secondary, event.secondary_name, event.secondary_object_id, event.secondary_itrf),
    )
    for n, (norad, name, object_id, state) in enumerate(names, start=1):
        obj = CdmObject()
        obj.fields.update(
            {
                "OBJECT": f"OBJECT{n}",
                "OBJECT_DESIGNATOR": f"{norad:05d}",
                "CATALOG_NAME": "SATCAT",
                "OBJECT_NAME": name or str(norad),
                "INTERNATIONAL_DESIGNATOR": object_id or "UNKNOWN",
                "EPHEMERIS_NAME": "NONE",
                "COVARIANCE_METHOD": "DEFAULT",
                "MANEUVERABLE": "N/A",
                "REF_FRAME": "ITRF",
            }
        )
        for key, value in zip(STATE_KEYS, state, strict=True):
            obj.fields[key] = float(value)
        cdm.objects.append(obj)

    kind = "none"
    if event.pc is not None and event.primary_cov_rtn_km2 and event.secondary_cov_rtn_km2:
        kind = "covariance"
        covs = [
            _covariance_6x6_m2(np.reshape(event.primary_cov_rtn_km2, (3, 3))),
            _covariance_6x6_m2(np.reshape(event.secondary_cov_rtn_km2, (3, 3))),
        ]
        state_note = (
            f"covariance: the position covariance the Pc was computed from ({event.pc_method}); "
            "velocity terms 0 (not estimated, not used by the 2-D Pc)"
        )
    elif event.pc is not None:
        kind = "maximum"
        (r1, v1), (r2, v2) = (_inertial_state(o) for o in cdm.objects)
        zero = np.zeros((3, 3))
        miss_2d_km = float(np.linalg.norm(encounter_plane(r1, v1, zero, r2, v2, zero).miss_2d_km))
        _pc, sigma_km = pc_max_isotropic(miss_2d_km, hbr_m / 1000.0)
        # Overlapping hard bodies: the maximum (1) is approached as sigma -> 0; keep it positive
        sigma_km = max(float(sigma_km), 1e-3 * hbr_m / 1000.0)
        half = np.eye(3) * sigma_km**2 / 2.0  # two equal shares sum to sigma^2 I
        covs = [_covariance_6x6_m2(half), _covariance_6x6_m2(half)]
        cdm.relative_comments.append(
            "COLLISION_PROBABILITY is a MAXIMUM Pc (Alfano 2005), not a probability: the largest 2-D "
            "Pc over an unknown isotropic position covariance, since TLE states carry none"
        )
        cdm.relative_comments.append(
            f"The covariances below are the one that maximum is attained at (combined isotropic sigma "
            f"{sigma_km * 1000:.6g} m, half to each object), written because CDM 1.0 requires a "
            "covariance; they are not estimates of the orbits' errors"
        )
        state_note = (
            "covariance: the isotropic one at which the maximum Pc is attained, not an estimate; "
            "velocity terms 0 (not used by the 2-D Pc)"
        )
    else:
        covs = [
            _covariance_6x6_m2(np.diag(np.square(TLE_DEFAULT_SIGMA_RTN[:3])), TLE_DEFAULT_SIGMA_RTN[3:])
        ] * 2
        state_note = "covariance is an assumed default (SGP4 prediction error a day out)"
    for obj, cov in zip(cdm.objects, covs, strict=True):
        obj.comments.append(f"state from SGP4 (TLE/OMM mean elements); {state_note}")
        k = 0
        for i in range(6):
            for j in range(i + 1):
                obj.fields[COVARIANCE_6X6_KEYS[k]] = float(cov[i, j])
                k += 1
    if kind != "none":
        try:
            pc = assess_cdm(cdm).pc
        except ValueError as exc:  # zero relative velocity, degenerate covariance
            cdm.relative_comments.append(f"no COLLISION_PROBABILITY: {exc}")
        else:
            cdm.relative["COLLISION_PROBABILITY"] = pc
            cdm.relative["COLLISION_PROBABILITY_METHOD"] = (
                PC_FOSTER if kind == "covariance" else CDM_MAX_PC_METHOD
            )
    return cdm


__all__ = [
    "CDM_MAX_PC_METHOD",
    "PC_CHAN",
    "CdmAssessment",
    "assess_cdm",
    "event_to_cdm",
    "is_maximum_pc_message",
    "with_covariance_pc",
]


def with_covariance_pc(
    events: Sequence[ConjunctionEvent],
    sigma_rtn_km: Mapping[int, tuple[float, float, float]],
    default_sigma_rtn_km: tuple[float, float, float] | None = None,
) -> list[ConjunctionEvent]:
    """Replace each event's TLE-only maximum Pc by Foster's 2-D Pc from position covariances.

    `sigma_rtn_km` gives per-object 1-sigma radial, in-track, cross-track errors; objects not in
    it use `default_sigma_rtn_km`; an event where either object has neither keeps its maximum Pc.
    The covariances are diagonal in each object's own RTN frame at TCA and independent.
    """
    out = []
    for e in events:
        s1 = sigma_rtn_km.get(e.primary, default_sigma_rtn_km)
        s2 = sigma_rtn_km.get(e.secondary, default_sigma_rtn_km)
        if s1 is None or s2 is None:
            out.append(e)
            continue
        r1, v1 = np.array(e.primary_teme[:3]), np.array(e.primary_teme[3:])
        r2, v2 = np.array(e.secondary_teme[:3]), np.array(e.secondary_teme[3:])
        c1 = rtn_to_inertial_cov(np.diag(np.square(s1)), r1, v1)
        c2 = rtn_to_inertial_cov(np.diag(np.square(s2)), r2, v2)
        plane = encounter_plane(r1, v1, c1, r2, v2, c2)
        # An event without an HBR gets the same default event_to_cdm writes for it
        hbr_m = e.hbr_m if e.hbr_m is not None else DEFAULT_COMBINED_HBR_M
        pc = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, hbr_m / 1000.0)
        source = "user" if e.primary in sigma_rtn_km or e.secondary in sigma_rtn_km else "default"
        out.append(
            replace(
                e,
                pc=float(pc),
                pc_method=f"{PC_FOSTER} ({source} RTN sigma)",
                primary_cov_rtn_km2=tuple(np.diag(np.square(s1)).ravel().tolist()),
                secondary_cov_rtn_km2=tuple(np.diag(np.square(s2)).ravel().tolist()),
            )
        )
    return out
