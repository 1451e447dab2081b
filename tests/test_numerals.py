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


@pytest.mark.django_db
def test_api_cell_search_matches_village_and_group_number_either_way():
    """"花园 3组" (village, group number in digits) finds the village's 第三村民小组 / 第三组, as the sidebar does;
    checked against a brute-force reading of every cell's names with the numbers written out."""
    from gridmap.models import Area, UserRole
    from tests.test_access import login

    client = login(UserRole.COUNTY_ADMIN)
    group = (Area.objects.filter(level="group", code__startswith="330783", name__regex=r"^第[一二三四五六七八九十]+(村民小)?组$")
             .select_related("parent").order_by("code").first())
    village = group.parent.name[:2]
    n = from_chinese(group.name.removeprefix("第").removesuffix("村民小组").removesuffix("组"))
    for q in (f"{village} {n}组", f"{village} {to_chinese(n)}组", f"{village} 第{to_chinese(n)}组"):
        codes, url = [], f"/api/v1/cells/?q={q}"
        while url:
            page = client.get(url).json()
            codes += [f["properties"]["code"] for f in page["features"]]
            url = page.get("next")
        expected = sorted(
            a.code for a in Area.objects.filter(level="group", code__startswith="330783").select_related("parent")
            if village in a.parent.name and from_chinese(a.name.removeprefix("第").removesuffix("村民小组")
                                                         .removesuffix("组")) == n)
        assert group.code in codes and sorted(codes) == expected, q
