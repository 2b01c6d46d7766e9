"""Shared by the pipeline tests and benchmark: a three-node loopback coalition whose JPN node runs the
pipeline over the bundled sample catalog, and element-set files that make a conjunction with a JPN asset."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import yaml

from kizuna.model.records import ElementSet
from kizuna.share.loopback import write_coalition
from kizuna.store.catalog import CatalogStore
from kizuna.store.ingest import load_file

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
#: a Japanese LEO payload of the sample (GOSAT, SATCAT owner JPN)
JPN_ASSET = 33492
CSV_HEADER = (
    "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,"
    "MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,"
    "MEAN_MOTION_DOT,MEAN_MOTION_DDOT"
)

PIPELINE = {
    "poll_s": 0.1,
    "watch": {"elements": "incoming"},
    "protected": {"owner": "JPN"},
    "screening": {"days": 0.25, "threshold_km": 10.0, "step_s": 60.0},
    "markings": {
        "rules": [
            {"product": "conjunction", "involves_owner": "JPN", "marking": "SECRET//REL TO USA, JPN"},
        ]
    },
}


def coalition(directory: Path, ports: dict[str, int], pipeline: dict | None = None) -> dict[str, Path]:
    """Configs for JPN, USA and UKR; JPN's has a `pipeline:` section watching `directory/incoming`."""
    paths = write_coalition(directory, ports)
    (directory / "incoming").mkdir(exist_ok=True)
    cfg = yaml.safe_load(paths["JPN"].read_text())
    cfg["pipeline"] = pipeline or PIPELINE
    paths["JPN"].write_text(yaml.safe_dump(cfg, sort_keys=False))
    return paths


def load_sample(db: str) -> None:
    store = CatalogStore(db)
    try:
        for name in ("leo_2026-06_sample.3le", "satcat_sample.csv"):
            load_file(store, SAMPLE / name)
    finally:
        store.close()


def asset_elements(db: str, norad_id: int = JPN_ASSET) -> ElementSet:
    store = CatalogStore(db)
    try:
        return store.latest_element_sets([norad_id])[0]
    finally:
        store.close()


def neighbour(asset: ElementSet, new_norad: int, k: int = 0) -> ElementSet:
    """A new object a few km from `asset` on a slightly tilted plane (a crossing within 10 km), with an
    epoch `k` minutes later so each k is new content."""
    return replace(
        asset,
        norad_id=new_norad,
        epoch_utc=asset.epoch_utc + timedelta(minutes=k),
        raan_deg=(asset.raan_deg + 0.02) % 360.0,
        mean_anomaly_deg=(asset.mean_anomaly_deg + asset.mean_motion_revday * 360.0 * k / 1440.0 + 0.01)
        % 360.0,
        object_name=f"TEST OBJECT {new_norad}",
        object_id=f"2026-999{chr(65 + k % 26)}",
    )


def write_csv(path: Path, sets: list[ElementSet]) -> Path:
    """CelesTrak GP CSV, written aside and renamed in (how a watched directory is fed)."""
    rows = [CSV_HEADER]
    for e in sets:
        rows.append(
            ",".join(
                [
                    str(e.object_name),
                    str(e.object_id),
                    e.epoch_utc.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                    f"{e.mean_motion_revday:.8f}",
                    f"{e.eccentricity:.7f}",
                    f"{e.inclination_deg:.4f}",
                    f"{e.raan_deg:.4f}",
                    f"{e.arg_perigee_deg:.4f}",
                    f"{e.mean_anomaly_deg:.4f}",
                    "0",
                    "U",
                    str(e.norad_id),
                    "999",
                    str(e.rev_at_epoch),
                    f"{e.bstar_per_er:.6g}",
                    f"{e.mean_motion_dot_revday2:.6g}",
                    f"{e.mean_motion_ddot_revday3:.6g}",
                ]
            )
        )
    tmp = path.with_name("." + path.name)
    tmp.write_text("\n".join(rows) + "\n")
    tmp.rename(path)
    return path
