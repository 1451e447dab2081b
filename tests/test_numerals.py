import pytest

from gridmap.numerals import from_chinese, to_chinese


@pytest.mark.parametrize(("n", "text"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (35, "三十五")])
def test_known_values(n, text):
    assert to_chinese(n) == text and from_chinese(text) == n


def test_round_trip_and_rejects():
    assert all(from_chinese(to_chinese(n)) == n for n in range(1, 100))
    assert from_chinese("12") == 12
    assert from_chinese("百") is None and from_chinese("二二") is None and from_chinese("") is None
    with pytest.raises(ValueError):
        to_chinese(100)
