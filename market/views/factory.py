"""Factories: plants, machines, capacity (placeholder until the capacity work lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("factory", __name__, url_prefix="/factory")
