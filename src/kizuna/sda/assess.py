"""Assess a received CDM, and turn a screening event into a CDM (CCSDS 508.0-B-1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from kizuna.formats.cdm import COVARIANCE_6X6_KEYS, STATE_KEYS, Cdm, CdmObject
from kizuna.orbit.geometry import rtn_basis
from kizuna.orbit.timescale import iso_utc
from kizuna.sda.pc import PC_CHAN, PC_FOSTER, encounter_plane, pc_chan, pc_foster, rtn_to_inertial_cov
from kizuna.sda.records import ConjunctionEvent

#: combined hard-body radius when the CDM states none [m] (two 5 m objects)
DEFAULT_COMBINED_HBR_M = 10.0
#: RTN 1-sigma assumed for a TLE state when a CDM must carry a covariance (km, km/s): the order
#: of the SGP4 prediction error a day out (Vallado & Cefola 2012, "Two-line element sets: practice
#: and use"). Marked COVARIANCE_METHOD = DEFAULT in the CDM.
TLE_DEFAULT_SIGMA_RTN = (0.2, 1.0, 0.2, 0.001, 0.0002, 0.0002)


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

    def as_dict(self) -> dict[str, object]:
        d = dict(self.__dict__)
        d["tca_utc"] = self.tca_utc.isoformat()
        return d


def assess_cdm(cdm: Cdm, hbr_m: float | None = None) -> CdmAssessment:
    """2-D Pc (Foster) and Chan cross-check from the CDM's states and RTN covariances."""
    o1, o2 = cdm.objects
    r1, v1 = o1.state_km()
    r2, v2 = o2.state_km()
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
    )


def event_to_cdm(
    event: ConjunctionEvent,
    *,
    originator: str = "KIZUNA",
    message_id: str | None = None,
    creation_utc: datetime | None = None,
) -> Cdm:
    """A CDM for one screening event: ITRF states at TCA (CDM 1.0 has no TEME frame), the
    relative state in the primary's RTN frame, and a DEFAULT covariance (TLE-only)."""
    tca = iso_utc(np.array([event.tca_utc]))[0].rstrip("Z")
    creation = (creation_utc or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    rel_v = np.array(event.secondary_teme[3:]) - np.array(event.primary_teme[3:])

    basis = rtn_basis(np.array(event.primary_teme[:3]), np.array(event.primary_teme[3:]))
    rel_v_rtn = basis @ rel_v
    cdm = Cdm()
    cdm.header.update(
        {
            "CCSDS_CDM_VERS": "1.0",
            "CREATION_DATE": creation,
            "ORIGINATOR": originator,
            "MESSAGE_ID": message_id or f"{event.primary}_conj_{event.secondary}_{tca[:19]}",
        }
    )
    cdm.relative_comments.append(f"HBR = {event.hbr_m} [m] ({event.hbr_source})")
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
    if event.pc is not None:
        cdm.relative["COLLISION_PROBABILITY"] = float(f"{event.pc:.6e}")
        cdm.relative["COLLISION_PROBABILITY_METHOD"] = event.pc_method
    sig = np.array(TLE_DEFAULT_SIGMA_RTN) * 1000.0  # CDM covariances are in m and m/s
    cov = np.diag(sig**2)
    for n, (norad, name, state) in enumerate(
        (
            (event.primary, event.primary_name, event.primary_itrf),
            (event.secondary, event.secondary_name, event.secondary_itrf),
        ),
        start=1,
    ):
        obj = CdmObject()
        obj.comments.append("state from SGP4 (TLE/OMM mean elements); covariance is an assumed default")
        obj.fields.update(
            {
                "OBJECT": f"OBJECT{n}",
                "OBJECT_DESIGNATOR": f"{norad:05d}",
                "CATALOG_NAME": "SATCAT",
                "OBJECT_NAME": name or str(norad),
                "INTERNATIONAL_DESIGNATOR": "UNKNOWN",
                "EPHEMERIS_NAME": "NONE",
                "COVARIANCE_METHOD": "DEFAULT",
                "MANEUVERABLE": "N/A",
                "REF_FRAME": "ITRF",
            }
        )
        for key, value in zip(STATE_KEYS, state, strict=True):
            obj.fields[key] = float(value)
        k = 0
        for i in range(6):
            for j in range(i + 1):
                obj.fields[COVARIANCE_6X6_KEYS[k]] = float(cov[i, j])
                k += 1
        cdm.objects.append(obj)
    return cdm


__all__ = ["PC_CHAN", "CdmAssessment", "assess_cdm", "event_to_cdm"]


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
        pc = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, e.hbr_m / 1000.0)
        source = "user" if e.primary in sigma_rtn_km or e.secondary in sigma_rtn_km else "default"
        out.append(replace(e, pc=float(pc), pc_method=f"{PC_FOSTER} ({source} RTN sigma)"))
    return out
