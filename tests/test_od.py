"""Orbit determination through Orekit (kizuna.ssa.od): a simulated LEO radar campaign fitted by the
batch least squares, EKF and UKF, initial orbit determination from angles, the OPM/OEM/TLE outputs
and their acceptance by an independent CCSDS parser (ccsds-ndm), and the CLI end to end.

References: the truth orbit the measurements were made from (error against truth, and its NEES
against chi-square quantiles), ccsds-ndm's parser for the messages, and Orekit's own SGP4 for the
fitted TLE.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("orekit_jpype")

from kizuna.errors import FormatError  # noqa: E402
from kizuna.formats.oem import read_oem, write_oem_kvn  # noqa: E402
from kizuna.formats.opm import Opm, read_opm_kvn, write_opm_kvn  # noqa: E402
from kizuna.formats.tdm import read_tdm, write_tdm_kvn, write_tdm_xml  # noqa: E402
from kizuna.ssa import od, od_campaigns  # noqa: E402

# One NEES sample of a 6-state: beyond chi2(6) 99.9 % (22.46) is a covariance that lies.
NEES_ONE_RUN_MAX = float(stats.chi2.ppf(0.999, 6))


@pytest.fixture(scope="module")
def campaign() -> od_campaigns.Campaign:
    return od_campaigns.leo_radar_campaign()


@pytest.fixture(scope="module")
def observed(campaign):  # noqa: ANN001
    rng = np.random.default_rng(2026)
    measurements, truth = od.truth_measurements(
        campaign.epoch,
        campaign.truth,
        campaign.stations,
        campaign.schedule,
        campaign.sigmas,
        rng,
        campaign.options,
    )
    guess = campaign.truth + np.r_[rng.normal(0, 1000.0, 3), rng.normal(0, 1.0, 3)]
    return measurements, truth, guess


@pytest.fixture(scope="module")
def batch(campaign, observed):  # noqa: ANN001
    measurements, _, guess = observed
    return od.fit(measurements, campaign.stations, campaign.epoch, guess, campaign.options)


def _ndm(text: str):  # noqa: ANN202
    from ccsds_ndm.ndm_io import NdmIo

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return NdmIo().from_string(text)


# ----------------------------------------------------------------------------------- campaign
def test_campaign_is_three_passes_of_three_radars(campaign) -> None:  # noqa: ANN001
    stations = [s for s, _, _ in campaign.schedule]
    assert set(stations) == set(campaign.stations)
    span_h = (campaign.schedule[-1][2] - campaign.schedule[0][2]).total_seconds() / 3600
    assert 0.5 < span_h < 8.0


def test_batch_recovers_truth_within_its_covariance(campaign, observed, batch) -> None:  # noqa: ANN001
    _, truth, _ = observed
    error = batch.state - od.state_at(truth, batch.epoch)
    assert np.linalg.norm(error[:3]) < 100.0  # metres: 20 m range noise over three passes
    assert error @ np.linalg.solve(batch.covariance, error) < NEES_ONE_RUN_MAX
    # residuals are white at the simulated noise: normalized RMS near 1 for every station and kind
    rows = od.residual_statistics(batch.residuals)
    assert {r["station"] for r in rows} == set(campaign.stations)
    for row in rows:
        assert 0.6 < row["normalized_rms"] < 1.5, row
        assert row["rejected"] == 0
    assert 0.7 < batch.rms < 1.3
    assert np.allclose(batch.covariance, batch.covariance.T, rtol=1e-9, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(batch.covariance) > 0)


@pytest.mark.parametrize("method", ["ekf", "ukf"])
def test_sequential_filters_agree_with_truth(campaign, observed, method) -> None:  # noqa: ANN001
    measurements, truth, guess = observed
    result = od.fit(
        measurements,
        campaign.stations,
        campaign.epoch,
        guess,
        od.OdOptions(**{**campaign.options.__dict__, "method": method}),
    )
    assert result.epoch == measurements[-1].epoch  # a filter's estimate is at its last measurement
    error = result.state - od.state_at(truth, result.epoch)
    assert np.linalg.norm(error[:3]) < 200.0
    assert error @ np.linalg.solve(result.covariance, error) < 2 * NEES_ONE_RUN_MAX


def test_outlier_filter_rejects_a_blunder(campaign, observed, batch) -> None:  # noqa: ANN001
    measurements, truth, _ = observed
    bad = list(measurements)
    k = next(i for i, m in enumerate(bad) if m.kind == "range" and i > 10)
    bad[k] = od.Measurement("range", bad[k].station, bad[k].epoch, (bad[k].value[0] + 1000.0,), bad[k].sigma)
    options = od.OdOptions(**{**campaign.options.__dict__, "outlier_sigma": 5.0})
    result = od.fit(bad, campaign.stations, batch.epoch, batch.state, options)
    rejected = [r for r in result.residuals if r.rejected]
    assert (bad[k].epoch, "range") in [(r.epoch, r.kind) for r in rejected]
    assert len(rejected) <= 3  # the blunder, and at most a neighbour it pulled in the first iterations
    assert np.linalg.norm(result.state[:3] - od.state_at(truth, result.epoch)[:3]) < 100.0


def test_range_bias_is_estimated(campaign, observed) -> None:  # noqa: ANN001
    measurements, truth, guess = observed
    name = "kamisaibara"
    biased = [
        od.Measurement(m.kind, m.station, m.epoch, (m.value[0] + 150.0,), m.sigma)
        if m.kind == "range" and m.station == name
        else m
        for m in measurements
    ]
    options = od.OdOptions(**{**campaign.options.__dict__, "estimate_range_bias": True})
    result = od.fit(biased, campaign.stations, campaign.epoch, guess, options)
    estimated = result.parameters[f"{name}/range-bias"]
    assert abs(estimated - 150.0) < 4 * result.parameter_sigmas[f"{name}/range-bias"] + 5.0


def test_iod_from_one_track_of_angles(campaign, observed) -> None:  # noqa: ANN001
    measurements, truth, _ = observed
    epoch, state = od.initial_orbit_from_angles(measurements, campaign.stations)
    # a Keplerian IOD over a 5-minute arc with 0.05 deg noise: tens of km, enough for the batch
    assert np.linalg.norm(state[:3] - od.state_at(truth, epoch)[:3]) < 200e3
    # (the batch from this guess converges: the CLI test fits from IOD)


def test_iod_needs_angles(campaign, observed) -> None:  # noqa: ANN001
    ranges = [m for m in observed[0] if m.kind == "range"]
    with pytest.raises(od.OdError, match="3 angle pairs"):
        od.initial_orbit_from_angles(ranges, campaign.stations)


@pytest.mark.slow
def test_nees_over_runs_within_chi_square(campaign) -> None:  # noqa: ANN001
    """Covariance realism: 6 runs against the 99.9 % two-sided chi-square band
    (the 200-run version at 95 % is benchmarks/bench_od.py)."""
    runs = [od_campaigns.run(campaign, seed) for seed in range(100, 106)]
    mean = np.mean([r.nees for r in runs])
    n = 6 * len(runs)
    lo, hi = stats.chi2.ppf(0.0005, n) / len(runs), stats.chi2.ppf(0.9995, n) / len(runs)
    assert lo < mean < hi, (mean, lo, hi)


# ------------------------------------------------------------------------------------ outputs
def test_opm_round_trips_and_ccsds_ndm_accepts_it(batch) -> None:  # noqa: ANN001
    opm = od.opm_of(batch, "TEST SAT", "2026-001A")
    text = write_opm_kvn(opm)
    again = read_opm_kvn(text, "again.opm")
    assert again.epoch == opm.epoch and np.array_equal(again.state_km, opm.state_km)
    assert again.covariance_km is not None and np.array_equal(again.covariance_km, opm.covariance_km)
    assert again.metadata == opm.metadata and again.spacecraft == opm.spacecraft
    parsed = _ndm(text)
    assert type(parsed).__name__ == "Opm"
    cov = parsed.body.segment.data.covariance_matrix
    assert cov is not None
    assert float(cov.cx_x.value) == pytest.approx(opm.covariance_km[0, 0], rel=1e-12)


def test_opm_reader_names_line_and_keyword() -> None:
    good = write_opm_kvn(
        Opm(
            epoch=np.datetime64("2026-03-01T00:00:00", "ns"),
            state_km=np.array([7000.0, 0, 0, 0, 7.5, 0]),
            metadata={
                "OBJECT_NAME": "A",
                "OBJECT_ID": "B",
                "CENTER_NAME": "EARTH",
                "REF_FRAME": "EME2000",
                "TIME_SYSTEM": "UTC",
            },
            header={"CREATION_DATE": "2026-03-01T00:00:00", "ORIGINATOR": "T"},
        )
    )
    assert read_opm_kvn(good).covariance_km is None
    lines = good.splitlines()
    k = next(i for i, s in enumerate(lines) if s.startswith("Y_DOT"))
    with pytest.raises(FormatError) as info:
        read_opm_kvn("\n".join([*lines[:k], "Y_DOT = fast", *lines[k + 1 :]]), "bad.opm")
    assert (info.value.issue.line, info.value.issue.field) == (k + 1, "Y_DOT")
    with pytest.raises(FormatError, match="covariance incomplete"):
        read_opm_kvn(good + "CX_X = 1.0\n", "cov.opm")
    with pytest.raises(FormatError, match="X_DOT"):
        read_opm_kvn("\n".join(s for s in lines if not s.startswith("X_DOT")), "missing.opm")


def test_oem_with_covariance_grows_and_ccsds_ndm_accepts_it(batch) -> None:  # noqa: ANN001
    from datetime import timedelta

    times, states, covs = od.ephemeris(batch, batch.epoch, batch.epoch + timedelta(hours=6), 1800.0)
    assert len(times) == 13
    assert np.allclose(covs[0], batch.covariance, rtol=1e-6, atol=1e-9)
    assert np.allclose(states[0], batch.state, atol=1e-6)
    sigma = np.sqrt([np.trace(c[:3, :3]) for c in covs])
    assert sigma[-1] > sigma[0]  # along-track uncertainty grows away from the data
    text = write_oem_kvn(od.oem_of(times, states, covs, "TEST SAT", "2026-001A"))
    again = read_oem(text, "again.oem")
    assert again.issues == [] and len(again.segments[0].covariances) == 13
    parsed = _ndm(text)
    assert len(parsed.body.segment[0].data.covariance_matrix) == 13


def test_fitted_tle_reproduces_the_estimate(batch) -> None:  # noqa: ANN001
    from kizuna.formats.tle import read_tle

    line1, line2 = od.fitted_tle(batch, norad_id=99001)
    parsed = read_tle(f"{line1}\n{line2}\n", "fit.tle")
    assert parsed.issues == [] and parsed.records[0].norad_id == 99001
    _, at_epoch = od.state_from_tle(line1, line2, when=batch.epoch)
    # SGP4 is a mean-element theory: a TLE fitted to one state holds it to about a kilometre
    assert np.linalg.norm(at_epoch[:3] - batch.state[:3]) < 2000.0


def test_tdm_round_trip_keeps_measurements(observed) -> None:  # noqa: ANN001
    measurements = observed[0]
    for writer in (write_tdm_kvn, write_tdm_xml):
        tdm = od.tdm_of(measurements, "SAT")
        text = writer(tdm)
        back = od.measurements_from_tdm(
            read_tdm(text, "t"), default_sigmas={"sigma_range_m": 20.0, "sigma_angle_deg": 0.05}
        )
        assert len(back) == len(measurements)
        for a, b in zip(
            sorted(back, key=lambda m: (m.epoch, m.kind)),
            sorted(measurements, key=lambda m: (m.epoch, m.kind)),
            strict=True,
        ):
            assert (a.kind, a.station, a.epoch) == (b.kind, b.station, b.epoch)
            assert np.allclose(a.value, b.value, rtol=1e-12, atol=1e-9)
        assert type(_ndm(text)).__name__ == "Tdm"


# ---------------------------------------------------------------------------------------- CLI
def test_cli_fit_writes_opm_oem_tle(tmp_path, campaign, observed) -> None:  # noqa: ANN001
    from tests.cli_harness import invoke

    tdm = tmp_path / "leo.tdm"
    tdm.write_text(write_tdm_kvn(od.tdm_of(observed[0], "SAT")))
    stations = [f"--station={s.name}={s.lat_deg},{s.lon_deg},{s.alt_m}" for s in campaign.stations.values()]
    args = ["od", "fit", "--tdm", str(tdm), *stations, "--no-drag", "--sigma-range-m", "20"]
    args += [
        "--sigma-angle-arcsec",
        "180",
        "--opm",
        str(tmp_path / "o.opm"),
        "--oem",
        str(tmp_path / "o.oem"),
    ]
    args += ["--span-h", "2", "--step-s", "600", "--tle", str(tmp_path / "o.tle"), "-f", "json"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["initial"] == "iod" and doc["estimate"]["measurements"] == len(observed[0])
    assert {r["station"] for r in doc["residuals"]} == set(campaign.stations)
    truth = od.state_at(observed[1], od.read_epoch(doc["estimate"]["epoch_utc"]))
    position_km = np.array([doc["estimate"][k] for k in ("x_km", "y_km", "z_km")])
    assert np.linalg.norm(position_km * 1e3 - truth[:3]) < 100.0
    assert type(_ndm((tmp_path / "o.opm").read_text())).__name__ == "Opm"
    assert type(_ndm((tmp_path / "o.oem").read_text())).__name__ == "Oem"
    assert len((tmp_path / "o.tle").read_text().splitlines()) == 3
    again = invoke(args)
    assert again.exit_code == 2 and "exists (use --force" in again.stderr


def test_angle_units_are_radians() -> None:
    assert math.isclose(math.degrees(od_campaigns.geo_optical_campaign().sigmas["radec"][0]) * 3600, 1.0)


def test_own_covariance_into_pc_and_a_cdm(campaign, batch) -> None:  # noqa: ANN001
    """A crossing object placed 150 m radially from our fitted object at a chosen TCA: the search
    finds that TCA and miss, Foster's Pc with our covariances agrees with Chan's series (an
    independent method) on the same encounter, and the CDM carrying the covariances gives the
    same Pc back when re-assessed and is accepted by ccsds-ndm."""
    from datetime import timedelta

    from kizuna.formats.cdm import read_cdm, write_cdm_kvn
    from kizuna.sda.assess import assess_cdm
    from kizuna.sda.pc import encounter_plane, pc_chan

    tca = campaign.epoch + timedelta(hours=3)
    s1 = od.state_at(batch.propagator, tca)
    radial = s1[:3] / np.linalg.norm(s1[:3])
    v = s1[3:]
    crossing = np.cross(radial, v)  # v rotated 90 deg about the radial: a crossing orbit
    s2 = np.r_[s1[:3] + 150.0 * radial, crossing]
    cov2 = np.diag([60.0**2, 250.0**2, 40.0**2, 0.1**2, 0.1**2, 0.1**2])
    other = od.result_from_state(tca, s2, cov2, campaign.options)
    event = od.conjunction(batch, other, tca + timedelta(seconds=90), window_s=300.0, hbr_m=20.0)
    assert abs((event.tca - tca).total_seconds()) < 0.01
    assert event.miss_m == pytest.approx(150.0, abs=1.0)
    assert event.rel_speed_m_s == pytest.approx(np.linalg.norm(crossing - v), rel=1e-3)
    (a, b), (ca, cb) = event.states, event.covariances
    plane = encounter_plane(a[:3] / 1e3, a[3:] / 1e3, ca * 1e-6, b[:3] / 1e3, b[3:] / 1e3, cb * 1e-6)
    # Chan's series (Chan 1997) is an independent method, good to about 1 % at this HBR/sigma
    assert event.pc == pytest.approx(pc_chan(plane.miss_2d_km, plane.cov_2d_km2, 0.02), rel=2e-2)
    assert 1e-6 < event.pc < 1.0
    text = write_cdm_kvn(od.conjunction_cdm(event, ("OURS", "THEIRS")))
    again = assess_cdm(read_cdm(text, "od.cdm"), hbr_m=20.0)
    assert again.pc == pytest.approx(event.pc, rel=1e-4)
    assert type(_ndm(text)).__name__ == "Cdm"
