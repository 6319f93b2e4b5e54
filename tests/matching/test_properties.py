"""Property: small random instances always give plans that pass the independent validator."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.quote import quote
from matching.solver import solve
from tests.matching.conftest import assert_valid

PROCS = ["cnc_milling", "anodizing", "laser_cutting"]
PLANTS = [("p1", 31.23, 121.47), ("p2", 31.30, 120.59), ("p3", 22.54, 114.06)]


@st.composite
def instances(draw) -> dict[str, Any]:
    horizon = draw(st.integers(200, 2000))
    machines = []
    for i in range(draw(st.integers(1, 4))):
        windows = None
        if draw(st.booleans()):
            windows, t = [], draw(st.integers(0, 50))
            while t < horizon and len(windows) < 6:
                length = draw(st.integers(10, 300))
                windows.append([t, t + length])
                t += length + draw(st.integers(0, 200))
        caps = [{"process": p, "materials": draw(st.sampled_from([[], ["al6061"], ["ss304"]])),
                 "rate_per_hour": draw(st.integers(0, 20000)),
                 "setup_minutes": draw(st.integers(0, 30)),
                 "speed": draw(st.sampled_from([0.5, 1.0, 1.5]))}
                for p in draw(st.lists(st.sampled_from(PROCS), min_size=1, max_size=2,
                                       unique=True))]
        m = {"id": f"m{i}", "plant": draw(st.sampled_from(PLANTS))[0], "capabilities": caps}
        if windows is not None:
            m["windows"] = windows
        machines.append(m)
    bookings = []
    for m in machines:
        if draw(st.booleans()):
            s = draw(st.integers(0, horizon - 10))
            bookings.append({"machine": m["id"], "start": s,
                             "end": s + draw(st.integers(1, 100))})
    orders = []
    for j in range(draw(st.integers(0, 4))):
        ops = [{"id": f"o{j}-{k}", "process": draw(st.sampled_from(PROCS)),
                "material": draw(st.sampled_from(["al6061", "ss304"])),
                "minutes_per_unit": draw(st.sampled_from([0.5, 0.7, 1, 2.5, 10]))}
               for k in range(draw(st.integers(1, 3)))]
        o = {"id": f"o{j}", "quantity": draw(st.integers(1, 40)),
             "release": draw(st.integers(0, 100)),
             "late_penalty_per_minute": draw(st.integers(0, 50)),
             "unserved_penalty": draw(st.sampled_from([0, 1000, 10**6, 10**9])),
             "operations": ops}
        if draw(st.booleans()):
            o["due"] = draw(st.integers(0, horizon))
        if draw(st.booleans()):
            o["lat"], o["lon"] = 30.0, 120.0
        orders.append(o)
    return finish(draw, draw(st.sampled_from(["cost", "makespan"])), horizon, 50,
                  draw(st.integers(0, 120)), machines, bookings, orders)


def finish(draw, objective: str, horizon: int, speed_kmh: int, handling: int,
           machines: list, bookings: list, orders: list) -> dict[str, Any]:
    """The problem around drawn machines, bookings and orders; v1.1 fields half the time."""
    prob = {
        "format": "yunzao.problem/1", "objective": objective,
        "horizon": {"start": "2026-12-07T00:00:00Z", "minutes": horizon},
        "transport": {"speed_kmh": speed_kmh, "handling_minutes": handling,
                      "cost_per_km": 300, "fixed_cost": 20000},
        "plants": [{"id": p, "lat": a, "lon": b} for p, a, b in PLANTS],
        "machines": machines, "bookings": bookings, "orders": orders,
    }
    if draw(st.booleans()):
        _add_v11(draw, prob)
    return prob


def _add_v11(draw, prob: dict[str, Any]) -> None:
    """Version 1.1 fields at random: risk, certifications, tolerances, part sizes,
    per-operation quantities, previous places with change cost, one fixed operation."""
    for p in prob["plants"]:
        p["risk_per_mille"] = draw(st.integers(0, 1000))
        p["certifications"] = draw(st.lists(st.sampled_from(["iso9001", "iatf16949"]),
                                            unique=True))
    for m in prob["machines"]:
        for c in m["capabilities"]:
            c["tolerance_mm"] = draw(st.sampled_from([None, 0.005, 0.05]))
            c["max_part_mm"] = draw(st.sampled_from([None, 300, 1000]))
    prob["change_cost"] = {"moved": draw(st.integers(0, 5000)),
                           "plant_changed": draw(st.integers(0, 5000))}
    booked = {b["machine"] for b in prob["bookings"]}
    horizon = prob["horizon"]["minutes"]
    fixed_done = False
    for o in prob["orders"]:
        o["risk_cost"] = draw(st.integers(0, 50000))
        o["certifications"] = draw(st.lists(st.sampled_from(["iso9001"]), unique=True))
        if draw(st.booleans()):
            o["part_size_mm"] = [draw(st.integers(10, 800)), 10, 10]
        for op in o["operations"]:
            if draw(st.booleans()):
                op["tolerance_mm"] = draw(st.sampled_from([0.01, 0.1]))
            if draw(st.booleans()):
                op["quantity"] = draw(st.integers(0, 5))
            if draw(st.booleans()):
                op["previous"] = {"machine": draw(st.sampled_from(prob["machines"]))["id"],
                                  "start": draw(st.integers(0, horizon))}
        first = o["operations"][0]
        free = [m for m in prob["machines"] if m["id"] not in booked]
        if not fixed_done and free and draw(st.booleans()):
            # at most one fixed operation, on a machine without bookings: two fixed spans
            # (or a fixed span and a booking) that overlap would be a contradictory problem
            first["fixed"] = {"machine": draw(st.sampled_from(free))["id"],
                              "start": draw(st.integers(-50, horizon))}
            fixed_done = True


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_solve_always_valid(prob: dict[str, Any]) -> None:
    plan = solve(prob, time_limit=0.5, workers=1, seed=0)
    d = assert_valid(prob, plan)
    assert len(d["orders"]) + len(d["unserved"]) == len(prob["orders"])
    if d["bound"] is not None:
        assert d["bound"] <= d["objective"]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_quote_placements_valid(prob: dict[str, Any]) -> None:
    if not prob["orders"]:
        return
    new = prob["orders"].pop()
    for op in new["operations"]:  # a new order has no history
        op.pop("fixed", None)
        op.pop("previous", None)
    plan = solve(prob, time_limit=0.3, workers=1, seed=0).to_dict()
    q = quote(prob, plan, new, time_limit=0.1)
    if not q.ok:
        assert q.reason
        return
    frozen = dict(prob, orders=[new], bookings=prob["bookings"] + [
        {"machine": a["machine"], "start": a["start"], "end": a["end"]}
        for a in plan["assignments"]])
    from matching.validate import recompute_objective

    plan2 = {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": 0, "bound": None,
             "assignments": [a.to_dict() for a in q.placements], "unserved": [],
             "orders": [{"order": new["id"], "completion": q.completion,
                         "lateness": q.lateness, "cost": 0}], "stats": {}}
    # the validator checks the order's cost: price + lateness penalty
    # price + expected risk + lateness penalty
    plan2["orders"][0]["cost"] = q.price + q.risk + new["late_penalty_per_minute"] * q.lateness
    plan2["objective"] = recompute_objective(frozen, plan2)
    assert_valid(frozen, plan2)
