"""Synthetic marketplace instances: deterministic, structurally valid, realistic, sized as asked."""

from __future__ import annotations

import json
import math
import time
from bisect import bisect_right
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.io.generate import IMPOSSIBLE_PRODUCTS, PROCESSES, PRODUCTS, SHOPS, generate
from matching.validate import validate

# mainland China, Hainan to Heilongjiang, Xinjiang to the east coast
CHINA_LAT = (18.0, 53.6)
CHINA_LON = (73.5, 135.1)


def all_unserved_plan(p: dict[str, Any]) -> dict[str, Any]:
    return {"format": "yunzao.plan/1", "status": "FEASIBLE",
            "objective": sum(o["unserved_penalty"] for o in p["orders"]), "bound": None,
            "assignments": [],
            "unserved": [{"order": o["id"], "reason": "not scheduled"} for o in p["orders"]],
            "orders": []}


def eligible(p: dict[str, Any], op: dict[str, Any]) -> list[str]:
    return [m["id"] for m in p["machines"]
            if any(c["process"] == op["process"]
                   and (not c["materials"] or op["material"] in c["materials"])
                   for c in m["capabilities"])]


def check_structure(p: dict[str, Any]) -> None:
    horizon = p["horizon"]["minutes"]
    assert p["format"] == "yunzao.problem/1" and p["currency"] == "CNY"
    assert p["objective"] == "cost"
    plant_ids = [pl["id"] for pl in p["plants"]]
    assert len(set(plant_ids)) == len(plant_ids)
    for pl in p["plants"]:
        assert CHINA_LAT[0] <= pl["lat"] <= CHINA_LAT[1]
        assert CHINA_LON[0] <= pl["lon"] <= CHINA_LON[1]
    windows: dict[str, list[list[int]]] = {}
    for m in p["machines"]:
        assert m["plant"] in plant_ids
        assert m["capabilities"]
        for c in m["capabilities"]:
            assert c["process"] in PROCESSES
            assert set(c["materials"]) <= set(PROCESSES[c["process"]]["materials"])
            assert isinstance(c["rate_per_hour"], int) and c["rate_per_hour"] > 0
            assert isinstance(c["setup_minutes"], int) and c["setup_minutes"] >= 0
            assert 0.8 <= c["speed"] <= 1.3
        ws = m["windows"]
        for a, b in ws:
            assert isinstance(a, int) and isinstance(b, int)
            assert 0 <= a < b <= horizon
        for (_a, b), (c, _d) in zip(ws, ws[1:], strict=False):
            assert b < c  # sorted, disjoint, and touching windows merged
        windows[m["id"]] = ws
    by_machine: dict[str, list[tuple[int, int]]] = {}
    for bk in p["bookings"]:
        ws = windows[bk["machine"]]
        assert bk["start"] < bk["end"]
        i = bisect_right([w[0] for w in ws], bk["start"]) - 1
        assert i >= 0 and bk["end"] <= ws[i][1], bk  # inside one window
        by_machine.setdefault(bk["machine"], []).append((bk["start"], bk["end"]))
    for spans in by_machine.values():
        spans.sort()
        for (_s, e), (s2, _e2) in zip(spans, spans[1:], strict=False):
            assert e <= s2
    op_ids = [op["id"] for o in p["orders"] for op in o["operations"]]
    assert len(set(op_ids)) == len(op_ids)
    assert len({o["id"] for o in p["orders"]}) == len(p["orders"])
    for o in p["orders"]:
        assert CHINA_LAT[0] <= o["lat"] <= CHINA_LAT[1]
        assert CHINA_LON[0] <= o["lon"] <= CHINA_LON[1]
        assert isinstance(o["quantity"], int) and o["quantity"] >= 1
        assert 0 <= o["release"] < horizon
        assert o["due"] > o["release"]
        assert o["late_penalty_per_minute"] >= 1 and o["unserved_penalty"] > 0
        if o["product"] in PRODUCTS:
            steps = PRODUCTS[o["product"]][3]
            assert [op["process"] for op in o["operations"]] == [s[0] for s in steps]
            for op in o["operations"]:
                assert eligible(p, op), (o["id"], op)
        else:
            assert o["product"] in IMPOSSIBLE_PRODUCTS
            assert any(not eligible(p, op) for op in o["operations"])
    # the independent checker accepts the instance (an all-unserved plan is always valid)
    assert validate(p, all_unserved_plan(p)) == []


def test_deterministic() -> None:
    a = generate(60, 12, seed=5)
    b = generate(60, 12, seed=5)
    assert a == b
    assert json.dumps(a) == json.dumps(b)
    assert generate(60, 12, seed=6) != a
    assert generate(60, 12, days=7, seed=5) != a


@pytest.mark.parametrize(("orders", "plants", "days"), [(0, 1, 1), (1, 1, 14), (40, 9, 7),
                                                        (300, 40, 14)])
def test_sizes_and_structure(orders: int, plants: int, days: int) -> None:
    p = generate(orders, plants, days=days, seed=11)
    assert len(p["orders"]) == orders
    assert len(p["plants"]) == plants
    assert p["horizon"] == {"start": "2026-12-07T00:00:00Z", "minutes": days * 1440}
    check_structure(p)


def test_every_product_routing_uses_known_processes() -> None:
    for _w, mats, (qlo, qhi), steps in PRODUCTS.values():
        assert mats and 1 <= qlo <= qhi <= 2000
        for proc, lo, hi in steps:
            assert proc in PROCESSES
            assert 0 < lo <= hi
            assert all(m in PROCESSES[proc]["materials"] or not PROCESSES[proc]["materials"]
                       for m in mats), (proc, mats)
    for procs in (m for _w, machines in SHOPS.values() for m in machines):
        assert all(proc in PROCESSES for proc in procs[0])


def test_marketplace_realism() -> None:
    p = generate(300, 40, seed=2)
    products = {o["product"] for o in p["orders"]}
    assert len(products & set(PRODUCTS)) >= 8  # a varied mix of routings
    impossible = [o for o in p["orders"] if o["product"] in IMPOSSIBLE_PRODUCTS]
    assert 1 <= len(impossible) <= 15
    assert p["bookings"], "some machines are partly booked"
    cities = {pl["city"] for pl in p["plants"]}
    assert len(cities) >= 10
    assert len({pl["kind"] for pl in p["plants"]}) == len(SHOPS)  # every kind of shop
    cnc_rates = [c["rate_per_hour"] for m in p["machines"] for c in m["capabilities"]
                 if c["process"] == "cnc_milling"]
    assert cnc_rates and all(8000 <= r <= 25000 for r in cnc_rates)
    # 2026-12-07 00:00 UTC is Monday 08:00 in China: the first day shift opens at minute 0,
    # and Sunday 2026-12-13 (local) has far fewer open machines than Monday
    assert any(m["windows"] and m["windows"][0][0] == 0 for m in p["machines"])

    def open_at(t: int) -> int:
        return sum(any(a <= t < b for a, b in m["windows"]) for m in p["machines"])

    monday_10am, sunday_10am = 120, 6 * 1440 + 120
    assert open_at(sunday_10am) < open_at(monday_10am) / 2
    dues = sorted(o["due"] - o["release"] for o in p["orders"])
    assert dues[0] < dues[-1] / 5  # some tight, some loose


def test_taxonomy_codes_match_the_marketplace() -> None:
    taxonomy = pytest.importorskip("seed.taxonomy")
    process_codes = {x["code"] for x in taxonomy.PROCESSES}
    material_codes = {x["code"] for x in taxonomy.MATERIALS}
    for proc, spec in PROCESSES.items():
        assert proc in process_codes
        assert set(spec["materials"]) <= material_codes, proc
    for table in (PRODUCTS, IMPOSSIBLE_PRODUCTS):
        for entry in table.values():
            mats, steps = entry[-3], entry[-1]
            assert set(mats) <= material_codes
            assert {s[0] for s in steps} <= process_codes


def test_other_start_is_in_china_local_time() -> None:
    # Saturday 2026-12-05 16:00 UTC = Sunday 00:00 in China: Sunday first, Monday 08:00 at 1920
    p = generate(5, 6, days=3, seed=1, start="2026-12-05T16:00:00Z")
    check_structure(p)
    firsts = [m["windows"][0][0] for m in p["machines"] if m["windows"]]
    assert 480 in firsts or 1920 in firsts


def test_large_instance_is_fast() -> None:
    t0 = time.perf_counter()
    p = generate(2000, 250, seed=0)
    assert time.perf_counter() - t0 < 3.0
    assert len(p["orders"]) == 2000 and len(p["plants"]) == 250


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.integers(0, 60), plants=st.integers(1, 12), days=st.integers(1, 21),
       seed=st.integers(0, 2**31))
def test_property_always_structurally_valid(orders: int, plants: int, days: int,
                                            seed: int) -> None:
    check_structure(generate(orders, plants, days=days, seed=seed))


# --------------------------------------------------------------------------- end to end


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, l1, p2, l2 = (math.radians(x) for x in (*a, *b))
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    return 6371 * math.acos(max(-1.0, min(1.0, c)))


def _first_fit_plan(p: dict[str, Any]) -> dict[str, Any]:
    """A naive serial schedule built here, independently of the engine and the validator."""
    horizon = p["horizon"]["minutes"]
    tr = p["transport"]
    where = {pl["id"]: (pl["lat"], pl["lon"]) for pl in p["plants"]}
    machines = {m["id"]: m for m in p["machines"]}
    busy: dict[str, list[tuple[int, int]]] = {m: [] for m in machines}
    for b in p["bookings"]:
        busy[b["machine"]].append((b["start"], b["end"]))

    def leg(a: tuple[float, float], b: tuple[float, float]) -> tuple[int, int]:
        km = _km(a, b)
        return (tr["handling_minutes"] + math.ceil(round(km / tr["speed_kmh"] * 60, 9)),
                tr["fixed_cost"] + round(km * tr["cost_per_km"]))

    def end_of(ws: list[list[int]], s: int, d: int) -> int | None:
        left = d
        for a, b in ws:
            if b <= s:
                continue
            lo = max(a, s)
            if left <= b - lo:
                return lo + left
            left -= b - lo
        return None

    def place(mid: str, t: int, d: int) -> tuple[int, int] | None:
        ws = machines[mid]["windows"]
        cands = sorted({max(t, a) for a, b in ws if b > t} | {e for _s, e in busy[mid] if e >= t})
        for s in cands:
            if not any(a <= s < b for a, b in ws):
                continue
            e = end_of(ws, s, d)
            if e is None or e > horizon:
                return None
            if all(e <= bs or be <= s for bs, be in busy[mid]):
                return s, e
        return None

    assignments, entries, unserved = [], [], []
    objective = 0
    for o in p["orders"]:
        t, prev, cost, placed = o["release"], None, 0, []
        for op in o["operations"]:
            best = None
            for m in p["machines"]:
                cap = next((c for c in m["capabilities"] if c["process"] == op["process"]
                            and (not c["materials"] or op["material"] in c["materials"])), None)
                if cap is None:
                    continue
                d = cap["setup_minutes"] + math.ceil(
                    round(o["quantity"] * op["minutes_per_unit"] / cap["speed"], 9))
                lag, lag_cost = (0, 0) if prev in (None, m["plant"]) else leg(where[prev],
                                                                              where[m["plant"]])
                got = place(m["id"], t + lag, d)
                if got and (best is None or got[1] < best[1]):
                    best = (got[0], got[1], m, round(cap["rate_per_hour"] * d / 60) + lag_cost)
            if best is None:
                break
            s, e, m, c = best
            busy[m["id"]].append((s, e))
            placed.append({"operation": op["id"], "machine": m["id"], "start": s, "end": e})
            t, prev, cost = e, m["plant"], cost + c
        if len(placed) < len(o["operations"]):
            for a in placed:  # give the capacity back: the order is left out whole
                busy[a["machine"]].remove((a["start"], a["end"]))
            unserved.append({"order": o["id"], "reason": "no capable machine with time left"})
            objective += o["unserved_penalty"]
            continue
        minutes, leg_cost = leg(where[prev], (o["lat"], o["lon"]))
        completion = t + minutes
        lateness = max(0, completion - o["due"])
        cost += leg_cost + o["late_penalty_per_minute"] * lateness
        objective += cost
        assignments.extend(placed)
        entries.append({"order": o["id"], "completion": completion, "lateness": lateness,
                        "cost": cost})
    return {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": objective,
            "bound": None, "assignments": assignments, "unserved": unserved, "orders": entries}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_instance_is_schedulable_and_checkable(seed: int) -> None:
    p = generate(40, 10, days=14, seed=seed)
    plan = _first_fit_plan(p)
    assert validate(p, plan) == []
    impossible = {o["id"] for o in p["orders"] if o["product"] in IMPOSSIBLE_PRODUCTS}
    left_out = {u["order"] for u in plan["unserved"]}
    assert impossible <= left_out
    assert len(plan["orders"]) >= 30  # most orders fit even a naive first-fit schedule
    # crossing plants happens: some consecutive operations sit in different plants
    plant = {m["id"]: m["plant"] for m in p["machines"]}
    by_op = {a["operation"]: plant[a["machine"]] for a in plan["assignments"]}
    assert any(by_op.get(f"{o['id']}-10") != by_op.get(f"{o['id']}-20")
               for o in p["orders"] if f"{o['id']}-20" in by_op)


def test_families_reshape_the_base_instance_validly_and_repeatably() -> None:
    from matching.io.families import FAMILIES, generate_family

    base = generate_family("base", 30, 6, seed=2)
    assert base == generate(30, 6, seed=2)  # the base family is the generator itself
    for fam in FAMILIES:
        d = generate_family(fam, 30, 6, seed=2)
        assert d == generate_family(fam, 30, 6, seed=2)
        empty = {"format": "yunzao.plan/1", "status": "FEASIBLE",
                 "objective": sum(o["unserved_penalty"] for o in d["orders"]), "bound": None,
                 "assignments": [], "orders": [],
                 "unserved": [{"order": o["id"], "reason": "x"} for o in d["orders"]]}
        assert validate(d, empty) == [], fam  # the problem itself is well formed
        if fam != "base":
            assert d != base, fam
    tight = generate_family("capacity_tight", 30, 6, seed=2)
    assert sum(len(m["windows"]) for m in tight["machines"]) < \
        sum(len(m["windows"]) for m in base["machines"])
    assert len(generate_family("many_small", 30, 6, seed=2)["orders"]) == 90
    longer = generate_family("long_routings", 30, 6, seed=2)
    assert sum(len(o["operations"]) for o in longer["orders"]) >= \
        sum(len(o["operations"]) for o in base["orders"]) + 2 * 30
    heavy = generate_family("heavy_bookings", 30, 6, seed=2)
    assert len(heavy["bookings"]) > len(base["bookings"])
