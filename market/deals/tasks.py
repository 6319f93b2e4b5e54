"""The deals domain's housekeeping: expired quotes, unanswered bookings, delivered orders
whose inspection window has passed."""

from __future__ import annotations

from typing import Any

from flask import current_app

from market.core.jobs import housekeeping_step
from market.deals import service

housekeeping_step("deals", on_read=True)(service.expire_overdue)


@housekeeping_step("deliveries")
def close_delivered(session: Any) -> dict[str, int]:
    days = int(current_app.config.get("INSPECTION_DAYS", service.INSPECTION_DAYS))
    return service.close_delivered(session, inspection_days=days)
