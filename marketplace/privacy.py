"""Masking of personal data for anyone without a right to see it in full."""

from __future__ import annotations

import re
from collections.abc import Iterable


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the surname stays, the rest is hidden."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_id_number(id_number: str) -> str:
    """620421199001011234 -> 620421********1234: region kept, birth date and serial hidden."""
    value = (id_number or "").strip()
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    value = (phone or "").strip()
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


_ID_LIKE = re.compile(r"(?<!\d)\d{6}(?:\d{8}|\d{11}[\dXx])(?![\dXx])")  # 15 or 18 characters
_PHONE_LIKE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """Free text typed about a household, fit to publish: ID and mobile numbers masked, and
    the names given (the household's people) masked wherever they appear."""
    text = _ID_LIKE.sub(lambda m: mask_id_number(m.group()), text or "")
    text = _PHONE_LIKE.sub(lambda m: mask_phone(m.group()), text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return text
