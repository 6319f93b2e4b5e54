"""The quality domain's housekeeping: certificates whose day has passed are marked expired
and their factories told; those expiring within 30 days are warned once."""

from __future__ import annotations

from typing import Any

from market.core.jobs import housekeeping_step
from market.quality import certifications


@housekeeping_step("certifications")
def expire_certifications(session: Any) -> dict[str, int]:
    return certifications.expire_and_warn(session)
