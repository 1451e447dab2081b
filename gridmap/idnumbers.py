"""Resident ID numbers (居民身份证号码, GB 11643-1999): validation, masking and keyed hashing.

A number is never stored or logged in clear: gridmap keeps the masked form for display and an HMAC
(keyed by settings.GRIDMAP_ID_HASH_KEY) to find the same child again on re-import.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_FORMAT = re.compile(r"^\d{17}[\dX]$")


class InvalidIDNumber(ValueError):
    """The number is not a valid 18-digit resident ID number; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IDNumber:
    area_code: str  # 6-digit division code of first registration
    birth_date: date
    sequence: str  # 3 digits; odd for male, even for female
    normalized: str

    @property
    def sex(self) -> str:
        return "M" if int(self.sequence[-1]) % 2 else "F"


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse(raw: str) -> IDNumber:
    """Validate and decompose an ID number; raise InvalidIDNumber with the reason."""
    value = str(raw).strip().upper().replace(" ", "")
    if len(value) != 18:
        raise InvalidIDNumber(f"应为18位，实为{len(value)}位")
    if not _FORMAT.match(value):
        raise InvalidIDNumber("前17位须为数字，末位为数字或X")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIDNumber(f"出生日期{value[6:14]}不存在") from exc
    if birth.year < 1800 or birth > date.today():
        raise InvalidIDNumber(f"出生日期{value[6:14]}不合理")
    expected = check_digit(value[:17])
    if value[17] != expected:
        raise InvalidIDNumber("校验位错误")
    return IDNumber(value[:6], birth, value[14:17], value)


def mask(number: IDNumber | str) -> str:
    """Display form: division code and last four kept, birth date hidden (330783********123X)."""
    value = number.normalized if isinstance(number, IDNumber) else parse(number).normalized
    return f"{value[:6]}********{value[14:]}"


def keyed_hash(number: IDNumber | str, key: str) -> str:
    """HMAC-SHA256 hex digest: equal numbers match, the number cannot be read back."""
    value = number.normalized if isinstance(number, IDNumber) else parse(number).normalized
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def make(area_code: str, birth_date: date, sequence: int) -> str:
    """Compose a valid number (used by the synthetic county generator)."""
    first17 = f"{area_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)
