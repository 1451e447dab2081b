"""The 31 August rule: grade 1 in the year a child turns 6 on or before 31 August."""

from datetime import date, timedelta

import pytest

from gridmap import schooling


@pytest.mark.parametrize(("birth", "entry"), [
    (date(2020, 8, 31), 2026),  # turns 6 on the cut-off day: enters this year
    (date(2020, 9, 1), 2027),  # one day later: next year
    (date(2020, 1, 1), 2026),
    (date(2019, 12, 31), 2026),  # turns 6 after the cut-off: waits a year
    (date(2019, 8, 31), 2025),
])
def test_entry_year_follows_31_august(birth, entry):
    assert schooling.entry_year(birth) == entry


def test_expected_grade_changes_on_1_september():
    birth = date(2018, 5, 10)  # entered grade 1 in September 2024
    assert schooling.expected_grade(birth, date(2025, 8, 31)) == 1
    assert schooling.expected_grade(birth, date(2025, 9, 1)) == 2
    assert schooling.expected_grade(birth, date(2026, 11, 22)) == 3


def test_school_age_range_agrees_with_is_school_age():
    on = date(2026, 11, 22)
    earliest, latest = schooling.school_age_birth_range(on)
    assert (earliest, latest) == (date(2011, 9, 1), date(2020, 8, 31))
    for birth in (earliest, latest, earliest + timedelta(days=400)):
        assert schooling.is_school_age(birth, on)
    assert not schooling.is_school_age(earliest - timedelta(days=1), on)  # grade 10 now
    assert not schooling.is_school_age(latest + timedelta(days=1), on)  # starts next year
    assert schooling.expected_grade(earliest, on) == 9
    assert schooling.expected_grade(latest, on) == 1


def test_stage_of_grade():
    assert schooling.stage_of_grade(6) == "primary"
    assert schooling.stage_of_grade(7) == "junior"
    with pytest.raises(ValueError):
        schooling.stage_of_grade(10)
