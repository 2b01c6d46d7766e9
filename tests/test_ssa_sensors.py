"""The space-surveillance network as data: detection physics and the bundled entries."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from kizuna.ssa.sensors import (
    SensorFileError,
    lambertian_phase,
    load_sensors,
    parse_sensors,
    visual_magnitude,
)


@pytest.fixture(scope="module")
def network():
    return load_sensors()


def test_the_radar_threshold_follows_the_radar_equation_from_its_reference(network) -> None:
    radar = network["kamisaibara-radar"]
    # the stated reference: 10 cm at 650 km
    assert radar.min_diameter_m(650.0) == pytest.approx(0.10)
    # RCS ~ d^2 and signal ~ RCS / R^4: the detectable diameter grows as R^2
    assert radar.min_diameter_m(1300.0) == pytest.approx(0.40)
    assert radar.min_diameter_m(325.0) == pytest.approx(0.025)
    assert math.isinf(float(radar.min_diameter_m(2001.0)))


def test_a_field_of_regard_that_crosses_north(network) -> None:
    cobra_dane = network["cobra-dane"]  # boresight 319 deg, 120 deg wide: 259..379
    inside = cobra_dane.in_azimuth(np.array([260.0, 319.0, 359.9, 0.0, 10.0, 19.0]))
    outside = cobra_dane.in_azimuth(np.array([20.0, 100.0, 200.0, 258.0]))
    assert inside.all() and not outside.any()
    assert network["kamisaibara-radar"].in_azimuth(np.arange(0, 360, 7.0)).all()


def test_the_lambertian_sphere_phase_function_and_magnitude() -> None:
    assert lambertian_phase(0.0) == pytest.approx(1.0)
    assert lambertian_phase(90.0) == pytest.approx(1 / math.pi)
    assert lambertian_phase(180.0) == pytest.approx(0.0, abs=1e-15)
    # a 1 m GEO object at full phase is about magnitude 15 (the usual rule of thumb):
    # -26.74 - 2.5 log10(0.175 * 1 / (4 * 3.6e7^2) * 2/3) = -26.74 + 41.62 = 14.88
    assert visual_magnitude(1.0, 36_000.0, 0.0) == pytest.approx(14.88, abs=0.01)
    # flux ~ d^2 / R^2: ten times farther is 5 magnitudes fainter, ten times larger 5 brighter
    assert visual_magnitude(1.0, 3_600.0, 30.0) - visual_magnitude(1.0, 36_000.0, 30.0) == pytest.approx(-5.0)
    assert visual_magnitude(10.0, 36_000.0, 30.0) - visual_magnitude(1.0, 36_000.0, 30.0) == pytest.approx(
        -5.0
    )
    assert visual_magnitude(1.0, 1000.0, 180.0) > 40  # unlit side: far beyond any telescope


def test_the_bundled_network_names_the_sources_sites_and_allies(network) -> None:
    assert {"kamisaibara-radar", "bisei-1m", "ju-fps5-shimokoshiki", "koganei-slr", "simosato-slr"} <= set(
        network
    )
    operators = {s.operator for s in network.values()}
    assert {"JPN", "USA", "AUS", "IND", "DEU", "FRA", "CAN"} <= operators
    assert {s.kind for s in network.values()} == {"radar", "optical", "space_optical", "laser"}
    for s in network.values():
        assert len(s.source) > 60, s.name
        assert (s.site is None) == (s.kind == "space_optical"), s.name


def _doc() -> dict:
    import yaml

    from kizuna.ssa.sensors import DEFAULT_SENSORS

    return yaml.safe_load(DEFAULT_SENSORS.read_text(encoding="utf-8"))


def _change(name: str, key: str, value: object):
    def apply(doc: dict) -> dict:
        if value is KeyError:
            del doc["sensors"][name][key]
        else:
            doc["sensors"][name][key] = value
        return doc

    return apply


HOSTILE = [
    (lambda d: {"sensors": {}}, "needs a non-empty 'sensors' mapping"),
    (lambda d: {"sensors": {"Bad Name": d["sensors"]["bisei-1m"]}}, "a name is lower-case letters"),
    (_change("bisei-1m", "kind", "sonar"), "kind 'sonar' is not one of"),
    (_change("bisei-1m", "limiting_magnitude", KeyError), "sensor bisei-1m: missing limiting_magnitude"),
    (_change("bisei-1m", "max_range_km", 100), "max_range_km is not a field of a optical sensor"),
    (_change("bisei-1m", "operator", "Japan"), "operator 'Japan' is not an ISO 3166 alpha-3 code"),
    (_change("bisei-1m", "source", "a blog"), "source must say where the figures come from"),
    (_change("bisei-1m", "limiting_magnitude", "18"), "limiting_magnitude '18' is not a number"),
    (_change("bisei-1m", "limiting_magnitude", float("nan")), "limiting_magnitude nan is outside"),
    (_change("bisei-1m", "sun_exclusion_deg", 181), "sun_exclusion_deg 181 is outside 0..180"),
    (_change("bisei-1m", "tracks_per_hour", 0), "tracks_per_hour 0 is outside"),
    (_change("bisei-1m", "site", {"lat_deg": 91, "lon_deg": 0, "alt_m": 0}), "site lat_deg 91 is outside"),
    (
        _change("bisei-1m", "site", {"lat_deg": 30, "lon_deg": 0}),
        "site needs exactly lat_deg, lon_deg, alt_m",
    ),
    (_change("kamisaibara-radar", "az_max_deg", 0), "az_max_deg must exceed az_min_deg"),
    (_change("kamisaibara-radar", "reference_range_km", 5000), "reference_range_km is beyond max_range_km"),
    (_change("kamisaibara-radar", "sigma_range_m", -1), "sigma_range_m -1 is outside"),
    (
        _change("sapphire", "host", {"altitude_km": 786, "inclination_deg": 98.6}),
        "host needs one of ltan_h or raan_deg",
    ),
    (
        _change("sapphire", "host", {"altitude_km": 50, "inclination_deg": 98.6, "ltan_h": 6}),
        "host altitude_km 50",
    ),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE)
def test_a_bad_sensor_entry_is_refused_naming_sensor_and_field(change, message) -> None:
    with pytest.raises(SensorFileError) as err:
        parse_sensors(change(copy.deepcopy(_doc())), "net.yaml")
    assert str(err.value).startswith("net.yaml")
    assert message in str(err.value)
