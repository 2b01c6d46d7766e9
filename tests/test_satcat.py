"""SATCAT CSV reader: CelesTrak columns, spreadsheet dates, RCS size classes."""

from __future__ import annotations

from datetime import date

from tests.conftest import SAMPLE, shared

from kizuna.formats.satcat import read_satcat_csv, write_satcat_csv


def test_celestrak_rows():
    result = read_satcat_csv((SAMPLE / "satcat_sample.csv").read_text(), "s.csv").raise_first()
    by_id = {o.norad_id: o for o in result.records}
    qps = by_id[58578]
    assert (qps.owner, qps.object_type, qps.launch_site) == ("JPN", "PAYLOAD", "RLLB")
    assert qps.launch_date == date(2023, 12, 15) and qps.decay_date is None
    assert (qps.apogee_km, qps.perigee_km, qps.inclination_deg) == (528.0, 495.0, 42.01)
    iss = by_id[25544]
    assert iss.rcs_m2 == 399.0524 and iss.rcs_size == "LARGE"


def test_spreadsheet_dates_of_the_india_subset():
    path = shared("satcat/celestrak_satcat_india_subset.csv")
    result = read_satcat_csv(path.read_text(), str(path)).raise_first()
    assert len(result.records) == 766
    aryabhata = next(o for o in result.records if o.norad_id == 7752)
    assert aryabhata.launch_date == date(1975, 4, 19) and aryabhata.decay_date == date(1992, 2, 11)
    types = {o.object_type for o in result.records}
    assert types == {"PAYLOAD", "DEBRIS", "ROCKET BODY"}


def test_space_track_columns_and_bad_rows():
    text = (
        "NORAD_CAT_ID,SATNAME,COUNTRY,OBJECT_TYPE,LAUNCH,DECAY,RCS_SIZE\n"
        "25544,ISS (ZARYA),ISS,PAYLOAD,1998-11-20,,LARGE\n"
        "x,BAD,US,DEBRIS,1998-11-20,,SMALL\n"
        "5,VANGUARD 1,US,PAYLOAD,1958-03-17,not a date,SMALL\n"
    )
    result = read_satcat_csv(text, "st.csv")
    assert [o.norad_id for o in result.records] == [25544]
    assert result.records[0].owner == "ISS" and result.records[0].rcs_size == "LARGE"
    assert [(i.line, i.field) for i in result.issues] == [(3, "NORAD_CAT_ID"), (4, "DECAY_DATE")]


def test_round_trip():
    records = read_satcat_csv((SAMPLE / "satcat_sample.csv").read_text()).records
    again = read_satcat_csv(write_satcat_csv(records)).raise_first().records
    assert [(o.norad_id, o.owner, o.launch_date, o.rcs_m2, o.object_type) for o in again] == [
        (o.norad_id, o.owner, o.launch_date, o.rcs_m2, o.object_type) for o in records
    ]
