"""The payments domain's housekeeping: payouts due, retries, payments to reconcile."""

from __future__ import annotations

from market.core.jobs import housekeeping_step
from market.payments import service

housekeeping_step("payments")(service.housekeeping)
