"""School-age rules (DESIGN.md): a child enters grade 1 in the school year that begins on 1 September
of the year they turn 6 on or before 31 August. Compulsory education is grades 1-9 (primary 1-6,
junior middle 7-9); "school-age" means a child whose expected grade today is within 1-9.
"""

from __future__ import annotations

from datetime import date

ENTRY_AGE = 6
CUTOFF_MONTH, CUTOFF_DAY = 8, 31  # 31 August
FIRST_GRADE, LAST_GRADE = 1, 9
PRIMARY_GRADES = range(1, 7)
JUNIOR_GRADES = range(7, 10)
KEY_GRADES = (6, 8, 9)  # DESIGN.md: primary 6, junior 8 and 9


def school_year(on: date) -> int:
    """The calendar year in which the school year containing `on` began (1 September)."""
    return on.year if on.month >= 9 else on.year - 1


def entry_year(birth_date: date) -> int:
    """The year whose 1 September the child should enter grade 1."""
    turns_six_by_cutoff = (birth_date.month, birth_date.day) <= (CUTOFF_MONTH, CUTOFF_DAY)
    return birth_date.year + ENTRY_AGE + (0 if turns_six_by_cutoff else 1)


def expected_grade(birth_date: date, on: date) -> int:
    """Grade the child should be in on `on` (may be < 1 before school, > 9 after)."""
    return school_year(on) - entry_year(birth_date) + 1


def is_school_age(birth_date: date, on: date) -> bool:
    return FIRST_GRADE <= expected_grade(birth_date, on) <= LAST_GRADE


def grade_birth_range(grade: int, on: date) -> tuple[date, date]:
    """Inclusive birth-date range of the children due in `grade` in the school year of `on`."""
    entry = school_year(on) - grade + 1
    return date(entry - ENTRY_AGE - 1, CUTOFF_MONTH + 1, 1), date(entry - ENTRY_AGE, CUTOFF_MONTH, CUTOFF_DAY)


def school_age_birth_range(on: date) -> tuple[date, date]:
    """Inclusive birth-date range of children of compulsory-school age on `on`.

    Grade 9 this school year entered grade 1 eight years ago; grade 1 enters this year.
    """
    year = school_year(on)
    oldest_entry, youngest_entry = year - (LAST_GRADE - 1), year
    return (
        date(oldest_entry - ENTRY_AGE - 1, CUTOFF_MONTH + 1, 1),
        date(youngest_entry - ENTRY_AGE, CUTOFF_MONTH, CUTOFF_DAY),
    )


def stage_of_grade(grade: int) -> str:
    if grade in PRIMARY_GRADES:
        return "primary"
    if grade in JUNIOR_GRADES:
        return "junior"
    raise ValueError(f"grade {grade} is outside compulsory education (1-9)")
