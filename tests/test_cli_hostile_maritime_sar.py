"""Hostile values for the Sentinel-1 SAFE input and options of `sar detect` and the checks of `dark`.

Each row is a command line, valid except for one thing, and a fragment the one-line refusal must
contain (exit 2, one `error:` line, no traceback, nothing on stdout: tests/cli_harness.refused).
Placeholders in braces are files made once per module.
"""

from __future__ import annotations

import shutil
import warnings

import pytest
import rasterio
from tests.cli_harness import refused

PRODUCT_NAME = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
GOOD_TIME = "2026-06-01T01:30:00Z"
BAD_NUMBERS = ("nan", "inf", "-inf")

SAFE = ["sar", "detect", "{safe}", "--window", "0,0,64,64"]
TIF = ["sar", "detect", "{tif}"]
DARK = ["dark", "--detections", "{dets}", "--ais", "{ais}"]


def _numbers(base: list[str], option: str, values: tuple[str, ...]) -> list:
    rows = [(base + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(base + [option, v], f"{option} {float(v):g}: must be") for v in values]
    return rows


ROWS = [
    # ---- sar detect on a SAFE product
    *_numbers(SAFE, "--land-margin-m", ("-1", "20001")),
    (SAFE + ["--polarisation", "XX"], "--polarisation 'XX': use one of"),
    (SAFE + ["--polarisation", "VH"], "no GRD annotation for VH"),
    (SAFE + ["--amplitude"], "--amplitude"),
    (["sar", "detect", "{safe}", "--window", "abc"], "--window abc: must be ROW,COL,ROWS,COLS"),
    (["sar", "detect", "{safe}", "--window", "0,0,64"], "--window 0,0,64: must be"),
    (["sar", "detect", "{safe}", "--window", "0,0,64,6.5"], "--window 0,0,64,6.5: must be"),
    (["sar", "detect", "{safe}", "--window", "-1,0,64,64"], "at least 0"),
    (["sar", "detect", "{safe}", "--window", "0,0,10,64"], "at least 64"),
    (["sar", "detect", "{safe}", "--window", "0,0,9000,9000"], "at most 8192^2"),
    (["sar", "detect", "{safe}", "--window", "16700,0,64,64"], "outside the 16705 x 26102 px image"),
    (["sar", "detect", "{safe}", "--window", "0,26100,64,64"], "outside the 16705 x 26102 px image"),
    (["sar", "detect", "{safe}"], "choose a part with --window"),
    (["sar", "detect", "{safe}/manifest.safe"], "choose a part with --window"),
    (["sar", "detect", "{no_measurement}", "--window", "0,0,64,64"], "no VV measurement TIFF"),
    (["sar", "detect", "{no_calibration}", "--window", "0,0,64,64"], "sigma0 cannot be computed"),
    (["sar", "detect", "{bad_annotation}", "--window", "0,0,64,64"], "s1b-iw-grd-vv"),
    (["sar", "detect", "{no_annotation}", "--window", "0,0,64,64"], "no GRD annotation"),
    (["sar", "detect", "{not_safe_dir}"], "is a directory"),
    # ---- sar detect on a GeoTIFF: SAFE-only options and an image nothing can place
    (TIF + ["--polarisation", "VV"], "--polarisation VV: only for a .SAFE product"),
    (TIF + ["--window", "0,0,64,64"], "--window 0,0,64,64: only for a .SAFE product"),
    *_numbers(TIF, "--land-margin-m", ("-0.5", "1e9")),
    (["sar", "detect", "{bare_tif}"], "neither a geotransform nor ground control points"),
    (["sar", "detect", "{two_gcp_tif}"], "2 ground control points, need 3 or more"),
    # ---- dark
    *_numbers(DARK, "--time-tolerance-s", ("-1", "86401")),
    *_numbers(DARK, "--gate-m", ("1e-9", "5", "100001")),
    (DARK + ["--time", "2026-06-01T04:30:00Z"], "beyond --time-tolerance-s 60"),
    (DARK + ["--time", "2026-06-01T01:28:59Z"], "(+61 s)"),
    (["dark", "--detections", "{untimed}", "--ais", "{ais}"], "carry no time_utc"),
    (["dark", "--detections", "{empty_fc}", "--ais", "{ais}", "--time", GOOD_TIME], "holds no detections"),
    (["dark", "--detections", "{header_only}", "--ais", "{ais}", "--time", GOOD_TIME], "holds no detections"),
    (
        ["dark", "--detections", "{not_fc}", "--ais", "{ais}", "--time", GOOD_TIME],
        "not a GeoJSON FeatureCollection",
    ),
    (["dark", "--detections", "{cut_json}", "--ais", "{ais}", "--time", GOOD_TIME], "{cut_json}"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from pathlib import Path

    from kizuna.formats.safe import open_safe
    from kizuna.formats.sar import write_scene_geotiff
    from kizuna.maritime.scene import synthetic_scene

    tmp = tmp_path_factory.mktemp("hostile_sar")
    src = Path(__file__).parent / "data" / PRODUCT_NAME
    prod = open_safe(src)
    meas_name = prod.annotation.name.replace(".xml", ".tiff")

    def product(name: str, measurement: bool = True) -> Path:
        root = tmp / name / PRODUCT_NAME
        shutil.copytree(src, root)
        if measurement:
            (root / "measurement").mkdir()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                with rasterio.open(
                    root / "measurement" / meas_name, "w", driver="GTiff", width=prod.samples,
                    height=prod.lines, count=1, dtype="uint16", tiled=True, SPARSE_OK=True,
                ):  # fmt: skip
                    pass
        return root

    f: dict[str, Path] = {"tmp": tmp}
    f["safe"] = product("ok")
    f["no_measurement"] = product("nomeas", measurement=False)
    f["no_calibration"] = product("nocal")
    shutil.rmtree(f["no_calibration"] / "annotation" / "calibration")
    f["bad_annotation"] = product("badann")
    (f["bad_annotation"] / "annotation" / prod.annotation.name).write_text("<product><adsHeader>")
    f["no_annotation"] = product("noann")
    (f["no_annotation"] / "annotation" / prod.annotation.name).unlink()
    f["not_safe_dir"] = tmp / "plain_dir"
    f["not_safe_dir"].mkdir()
    f["tif"] = tmp / "scene.tif"
    write_scene_geotiff(f["tif"], synthetic_scene((64, 64), seed=1))
    f["bare_tif"] = tmp / "bare.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(f["bare_tif"], "w", driver="GTiff", width=64, height=64, count=1, dtype="float32"):
            pass
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS

    f["two_gcp_tif"] = tmp / "two_gcps.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            f["two_gcp_tif"], "w", driver="GTiff", width=64, height=64, count=1, dtype="float32"
        ) as ds:
            ds.gcps = (
                [GroundControlPoint(0, 0, 12.0, 41.0), GroundControlPoint(64, 64, 12.01, 41.01)],
                CRS.from_epsg(4326),
            )
    f["dets"] = tmp / "dets.csv"
    f["dets"].write_text("detection_id,lat,lon,time_utc\nd1,35.0,139.8,2026-06-01T01:30:00Z\n")
    f["untimed"] = tmp / "untimed.csv"
    f["untimed"].write_text("detection_id,lat,lon\nd1,35.0,139.8\n")
    f["empty_fc"] = tmp / "empty.geojson"
    f["empty_fc"].write_text('{"type": "FeatureCollection", "features": []}')
    f["header_only"] = tmp / "header.csv"
    f["header_only"].write_text("detection_id,lat,lon,time_utc\n")
    f["not_fc"] = tmp / "other.json"
    f["not_fc"].write_text('{"detections": [[35.0, 139.8]]}')
    f["cut_json"] = tmp / "cut.geojson"
    f["cut_json"].write_text('{"type": "FeatureCollection", "features": [{"type": "Fea')
    f["ais"] = tmp / "ais.csv"
    f["ais"].write_text("mmsi,timestamp,lat,lon,sog,cog\n431000001,2026-06-01T01:30:00Z,35.0,139.8,0,0\n")
    return f


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_new_option_has_rows():
    options = {a for args, _ in ROWS for a in args if a.startswith("--")}
    assert options >= {
        "--polarisation",
        "--window",
        "--land-margin-m",
        "--time-tolerance-s",
        "--gate-m",
        "--time",
    }
