"""Masking of personal data for anyone without a right to see it in full."""

from __future__ import annotations


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
