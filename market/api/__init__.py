"""The JSON API blueprint (/api/v1). Importing the route modules registers their routes."""

from market.api import accounts, capacity, matching, openapi, orders, payments  # noqa: F401
from market.api.core import bp

__all__ = ["bp"]
