"""The deals domain's housekeeping: expired quotes, unanswered bookings, delivered orders
whose inspection window has passed."""

from __future__ import annotations

from typing import Any

from flask import current_app

from market.core import events
from market.core.jobs import housekeeping_step
from market.core.money import DEFAULT_FEE_BPS
from market.deals import changes, disruption, service

housekeeping_step("deals", due=service.OVERDUE)(service.expire_overdue)


@housekeeping_step("deliveries")
def close_delivered(session: Any) -> dict[str, int]:
    days = int(current_app.config.get("INSPECTION_DAYS", service.INSPECTION_DAYS))
    return service.close_delivered(session, inspection_days=days)


def _on_run_finished(session: Any, run_id: int, kind: str) -> None:
    days = int(current_app.config.get("REPLAN_SLACK_DAYS", disruption.REPLAN_SLACK_DAYS))
    disruption.on_run_finished(session, run_id, kind, days)
    fee_bps = int(current_app.config.get("PLATFORM_FEE_BPS", DEFAULT_FEE_BPS))
    changes.on_run_finished(session, run_id, kind, fee_bps)


events.run_finished.connect(_on_run_finished)
