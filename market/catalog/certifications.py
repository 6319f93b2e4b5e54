"""The quality-system certifications a factory can hold and an order can require. Their names
are the standards' own, the same in every language, so they need no translation."""

from __future__ import annotations

CERTIFICATION_KINDS: dict[str, str] = {
    "iso9001": "ISO 9001",
    "iatf16949": "IATF 16949",
    "iso13485": "ISO 13485",
    "as9100": "AS9100",
    "iso14001": "ISO 14001",
}


def certification_name(kind: str) -> str:
    """The standard's name for a kind code (the code itself when unknown)."""
    return CERTIFICATION_KINDS.get(kind, kind)
