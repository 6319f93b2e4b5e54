"""Bodies of the catalog API (the process taxonomy)."""

from __future__ import annotations

from pydantic import BaseModel


class ProcessOut(BaseModel):
    code: str
    family: str
    name_en: str
    name_zh: str
    unit: str
    materials: list[str]
    typical_minutes_per_unit: float
    typical_setup_minutes: int
