"""Chinese numerals as written in group names (第三村民小组, 第十二组), both ways."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"


def to_chinese(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (1-99)."""
    if not 1 <= n <= 99:
        raise ValueError(f"{n} is outside 1-99")
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def from_chinese(text: str) -> int | None:
    """Inverse of to_chinese; Arabic digits pass through; None for anything else."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in DIGITS + "十" for c in text):
        return None
    if "十" not in text:
        return DIGITS.index(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (DIGITS.index(tens) if tens else 1) * 10 + (DIGITS.index(ones) if ones else 0)


def group_variants(term: str) -> list[str]:
    """How a searched group number may be written in a name: "3组", "3", "三组" or "第三组" → "3组",
    "第三组", "第三村民小组" (a term that is no group number: itself)."""
    bare = term.removeprefix("第").removesuffix("村民小组").removesuffix("小组").removesuffix("组")
    number = from_chinese(bare)
    if number is None or not 1 <= number <= 99:
        return [term]
    chinese = to_chinese(number)
    return [term, f"{number}组", f"第{chinese}组", f"第{chinese}村民小组", f"{chinese}组"]


def short_group_name(name: str) -> str:
    """第三村民小组 → 3组 (map labels, household numbers on village sheets); other names unchanged."""
    number = from_chinese(name.removeprefix("第").split("村民小组")[0].split("组")[0])
    return f"{number}组" if number is not None and name.endswith("组") else name
