"""Instance families for robustness benchmarks (issue 17): the base generator's instance
reshaped in one way each, so the engine is measured on problems its tuning has not seen.

Each family is a deterministic function of (instance, seed); every instance stays valid.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from typing import Any

from matching.io.generate import CITIES, generate

__all__ = ["FAMILIES", "generate_family"]


def _capacity_tight(d: dict[str, Any], rng: random.Random) -> None:
    """The three processes most in demand lose half their machines' windows."""
    demand = Counter(op["process"] for o in d["orders"] for op in o["operations"])
    tight = {p for p, _n in demand.most_common(3)}
    for m in d["machines"]:
        if any(c["process"] in tight for c in m["capabilities"]):
            m["windows"] = [w for i, w in enumerate(m["windows"]) if i % 2 == 0]
    _drop_bookings_outside_windows(d)


def _many_small(d: dict[str, Any], rng: random.Random) -> None:
    """Each order becomes three small ones (a fifth of the quantity, a fifth of the money)."""
    out = []
    for o in d["orders"]:
        for c in range(3):
            n = copy.deepcopy(o)
            n["id"] = f"{o['id']}s{c}"
            n["quantity"] = max(1, int(o["quantity"]) // 5)
            n["unserved_penalty"] = max(1000, int(o["unserved_penalty"]) // 5)
            n["late_penalty_per_minute"] = max(1, int(o["late_penalty_per_minute"]) // 5)
            n["release"] = min(d["horizon"]["minutes"] // 2,
                               int(o["release"]) + rng.randint(0, 3) * 1440)
            n["due"] = int(o["due"]) + (n["release"] - int(o["release"]))
            for k, op in enumerate(n["operations"]):
                op["id"] = f"{n['id']}-{10 * (k + 1)}"
            out.append(n)
    d["orders"] = out


def _long_routings(d: dict[str, Any], rng: random.Random) -> None:
    """Inspection, assembly and packaging steps after each routing (any material)."""
    extra = ["cmm_inspection", "manual_assembly", "packaging"]
    offered = {c["process"] for m in d["machines"] for c in m["capabilities"]}
    extra = [p for p in extra if p in offered]
    for o in d["orders"]:
        steps = rng.sample(extra, k=min(len(extra), rng.randint(2, 3)))
        for proc in steps:
            k = len(o["operations"])
            o["operations"].append({"id": f"{o['id']}-{10 * (k + 1)}", "process": proc,
                                    "material": o["operations"][0].get("material"),
                                    "minutes_per_unit": round(rng.uniform(0.05, 0.4), 2)})
        o["due"] = int(o["due"]) + 1440 * len(steps)


def _fragmented(d: dict[str, Any], rng: random.Random) -> None:
    """Windows cut into pieces of 1.5-4 h with 15-60 min gaps."""
    for m in d["machines"]:
        out = []
        for a, b in m["windows"]:
            s = a
            while s < b:
                e = min(b, s + rng.randint(90, 240))
                out.append([s, e])
                s = e + rng.randint(15, 60)
        m["windows"] = out
    _drop_bookings_outside_windows(d)


def _far_apart(d: dict[str, Any], rng: random.Random) -> None:
    """Plants in cities drawn uniformly (not weighted by industry), far from one another,
    and buyers anywhere: transport and delivery weigh much more."""
    for p in d["plants"]:
        name, lat, lon, _w = CITIES[rng.randrange(len(CITIES))]
        p["lat"], p["lon"], p["city"] = round(lat + rng.uniform(-1, 1), 4), \
            round(lon + rng.uniform(-1, 1), 4), name
    for o in d["orders"]:
        name, lat, lon, _w = CITIES[rng.randrange(len(CITIES))]
        o["lat"], o["lon"], o["buyer_city"] = lat, lon, name


def _rush(d: dict[str, Any], rng: random.Random) -> None:
    """A third of the orders are rush orders: due in half the time, five times the late
    penalty."""
    for o in d["orders"]:
        if rng.random() < 1 / 3:
            o["due"] = int(o["release"]) + max(60, (int(o["due"]) - int(o["release"])) // 2)
            o["late_penalty_per_minute"] = int(o["late_penalty_per_minute"]) * 5


def _heavy_bookings(d: dict[str, Any], rng: random.Random) -> None:
    """About half the free published time is already booked (4 h jobs)."""
    by_m: dict[str, list[tuple[int, int]]] = {}
    for b in d["bookings"]:
        by_m.setdefault(b["machine"], []).append((b["start"], b["end"]))
    for m in d["machines"]:
        held = sorted(by_m.get(m["id"], []))
        for a, b in m["windows"]:
            for s in range(a, b, 240):
                e = min(b, s + 240)
                if e - s < 60 or rng.random() >= 0.5:
                    continue
                if any(hs < e and s < he for hs, he in held):
                    continue
                held.append((s, e))
                d["bookings"].append({"machine": m["id"], "start": s, "end": e})
    d["bookings"].sort(key=lambda b: (int(b["machine"][1:]), b["start"]))


def _drop_bookings_outside_windows(d: dict[str, Any]) -> None:
    """Bookings of removed windows go (a booking is work in published time)."""
    wins = {m["id"]: m["windows"] for m in d["machines"]}
    d["bookings"] = [b for b in d["bookings"]
                     if any(a <= b["start"] and b["end"] <= e for a, e in wins[b["machine"]])]


FAMILIES = {
    "base": None,
    "capacity_tight": _capacity_tight,
    "many_small": _many_small,
    "long_routings": _long_routings,
    "fragmented": _fragmented,
    "far_apart": _far_apart,
    "rush": _rush,
    "heavy_bookings": _heavy_bookings,
}


def generate_family(family: str, orders: int, plants: int, days: int = 14,
                    seed: int = 0) -> dict[str, Any]:
    """`generate(orders, plants, days, seed)` reshaped as `family` (see FAMILIES)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {sorted(FAMILIES)}")
    d = generate(orders, plants, days=days, seed=seed)
    shape = FAMILIES[family]
    if shape is not None:
        shape(d, random.Random(f"{family}:{seed}"))
        d["generator"]["family"] = family
    return d
