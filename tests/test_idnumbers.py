"""Resident ID numbers per GB 11643-1999 (ISO 7064 MOD 11-2 check character)."""

from datetime import date

import pytest

from gridmap import idnumbers


@pytest.mark.parametrize("number", [
    "11010519491231002X",  # the standard's own worked example (check character X)
    "440524188001010014",  # the example printed in GB 11643's explanatory literature
])
def test_accepts_published_examples(number):
    parsed = idnumbers.parse(number)
    assert parsed.normalized == number


def test_parses_fields_and_sex():
    parsed = idnumbers.parse("11010519491231002x ")  # lower-case x and whitespace are tolerated
    assert parsed.area_code == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # sequence 002: even


@pytest.mark.parametrize(("number", "reason"), [
    ("110105194912310021", "校验位错误"),  # one changed check character
    ("11010519491231002", "应为18位"),
    ("1101051949123100211", "应为18位"),
    ("11010519491231A02X", "前17位须为数字"),
    ("110105194902300025", "出生日期"),  # 30 February
    ("110105209901010012", "出生日期"),  # born in the future
])
def test_rejects_malformed(number, reason):
    with pytest.raises(idnumbers.InvalidIDNumber) as exc:
        idnumbers.parse(number)
    assert reason in exc.value.reason


def test_make_produces_valid_numbers():
    for seq in range(0, 1000, 37):
        number = idnumbers.make("330783", date(2015, 3, 4), seq)
        assert idnumbers.parse(number).birth_date == date(2015, 3, 4)


def test_mask_hides_birth_date_and_hash_is_keyed():
    number = "11010519491231002X"
    assert idnumbers.mask(number) == "110105********002X"
    a, b = idnumbers.keyed_hash(number, "key-one"), idnumbers.keyed_hash(number, "key-two")
    assert a != b and len(a) == 64
    assert idnumbers.keyed_hash(number.lower(), "key-one") == a
    assert "19491231" not in a
