"""The process taxonomy, read by everyone (API)."""

from __future__ import annotations

from typing import Any

from market.catalog import service as taxonomy
from market.catalog.schemas import ProcessOut
from market.core.api import route
from market.core.extensions import db


@route("GET", "/processes", summary="The process taxonomy", response=ProcessOut,
       auth="none", tag="taxonomy", paginated=True)
def processes() -> list[dict[str, Any]]:
    return [
        ProcessOut(
            code=info.process.code, family=info.process.family_code,
            name_en=info.process.name_en, name_zh=info.process.name_zh,
            unit=info.process.unit, materials=info.materials,
            typical_minutes_per_unit=info.process.typical_minutes_per_unit,
            typical_setup_minutes=info.process.typical_setup_minutes,
        ).model_dump()
        for info in taxonomy.processes(db.session)
    ]
