"""The deals domain's housekeeping: expired quotes and unanswered bookings."""

from __future__ import annotations

from market.core.jobs import housekeeping_step
from market.deals import service

housekeeping_step("deals", on_read=True)(service.expire_overdue)
