"""Small hand-made problems for the engine's tests (dicts in the JSON form)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

SHANGHAI = (31.2304, 121.4737)
SUZHOU = (31.2989, 120.5853)
SHENZHEN = (22.5431, 114.0579)


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the law of cosines (independent of matching.geo)."""
    p1, l1, p2, l2 = (math.radians(x) for x in (*a, *b))
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    return 6371 * math.acos(min(1.0, c))


def machine(mid: str, plant: str, process: str = "cnc_milling", *, materials=None,
            rate: int = 6000, setup: int = 0, speed: float = 1.0,
            windows: list[list[int]] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"id": mid, "plant": plant, "capabilities": [
        {"process": process, "materials": list(materials or []), "rate_per_hour": rate,
         "setup_minutes": setup, "speed": speed}]}
    if windows is not None:
        m["windows"] = windows
    return m


def order(oid: str, ops: list[tuple[str, str | None, float]], *, quantity: int = 10,
          release: int = 0, due: int | None = None, dest: tuple[float, float] | None = None,
          late: int = 0, penalty: int = 10**9) -> dict[str, Any]:
    o: dict[str, Any] = {"id": oid, "quantity": quantity, "release": release,
                         "late_penalty_per_minute": late, "unserved_penalty": penalty,
                         "operations": [
                             {"id": f"{oid}-{10 * (k + 1)}", "process": proc,
                              **({"material": mat} if mat else {}), "minutes_per_unit": mpu}
                             for k, (proc, mat, mpu) in enumerate(ops)]}
    if due is not None:
        o["due"] = due
    if dest is not None:
        o["lat"], o["lon"] = dest
    return o


def problem(machines: list[dict[str, Any]], orders: list[dict[str, Any]], *,
            horizon: int = 10080, objective: str = "cost", bookings=None,
            plants=None) -> dict[str, Any]:
    return {
        "format": "yunzao.problem/1", "currency": "CNY", "objective": objective,
        "horizon": {"start": "2026-12-07T00:00:00Z", "minutes": horizon},
        "transport": {"speed_kmh": 60, "handling_minutes": 120, "cost_per_km": 300,
                      "fixed_cost": 20000},
        "plants": plants if plants is not None else [
            {"id": "p1", "lat": SHANGHAI[0], "lon": SHANGHAI[1]},
            {"id": "p2", "lat": SUZHOU[0], "lon": SUZHOU[1]},
            {"id": "p3", "lat": SHENZHEN[0], "lon": SHENZHEN[1]}],
        "machines": machines, "bookings": bookings or [], "orders": orders,
    }


@pytest.fixture
def clone():
    return copy.deepcopy


def assert_valid(prob: dict[str, Any], plan: Any) -> dict[str, Any]:
    """Every plan the engine returns must pass the independent validator."""
    from matching.validate import recompute_objective, validate

    d = plan.to_dict() if hasattr(plan, "to_dict") else plan
    errors = validate(prob, d)
    assert errors == [], errors
    assert d["objective"] == recompute_objective(prob, d)
    return d


def by_op(plan_dict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["operation"]: a for a in plan_dict["assignments"]}
