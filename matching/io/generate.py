"""Synthetic but realistic marketplace instances (yunzao.problem/1) for tests and benchmarks.

Plants sit in real Chinese manufacturing cities, each a shop of a recognisable kind (CNC shop,
sheet-metal works, moulding shop, SMT line, finishing house ...) with machines whose processes
and materials go together, shift windows in China local time (UTC+8) with weekends and partial
bookings, and orders whose routings are what such shops really chain. Process and material codes
follow the marketplace taxonomy (seed/taxonomy.py) without importing it: matching stays a
standalone package.

Deterministic for a seed: only `random.Random(seed)`, and no iteration over sets or hashes.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ["generate", "PROCESSES", "PRODUCTS", "IMPOSSIBLE_PRODUCTS", "CITIES", "SHOPS",
           "TRANSPORT"]

# (name, lat, lon, weight): weight ~ how much contract manufacturing the city hosts
CITIES: list[tuple[str, float, float, int]] = [
    ("Shenzhen", 22.5431, 114.0579, 10), ("Dongguan", 23.0207, 113.7518, 10),
    ("Guangzhou", 23.1291, 113.2644, 6), ("Foshan", 23.0215, 113.1214, 7),
    ("Zhongshan", 22.5176, 113.3926, 4), ("Huizhou", 23.1115, 114.4152, 3),
    ("Xiamen", 24.4798, 118.0894, 4), ("Quanzhou", 24.8741, 118.6757, 3),
    ("Fuzhou", 26.0745, 119.2965, 2), ("Suzhou", 31.2989, 120.5853, 9),
    ("Kunshan", 31.3846, 120.9807, 5), ("Wuxi", 31.4912, 120.3119, 6),
    ("Changzhou", 31.8112, 119.9741, 4), ("Shanghai", 31.2304, 121.4737, 5),
    ("Ningbo", 29.8683, 121.5440, 7), ("Hangzhou", 30.2741, 120.1551, 5),
    ("Shaoxing", 30.0303, 120.5802, 3), ("Wenzhou", 27.9938, 120.6994, 3),
    ("Taizhou", 28.6564, 121.4208, 3), ("Nanjing", 32.0603, 118.7969, 3),
    ("Hefei", 31.8206, 117.2272, 3), ("Qingdao", 36.0671, 120.3826, 4),
    ("Jinan", 36.6512, 117.1201, 2), ("Yantai", 37.4638, 121.4479, 2),
    ("Tianjin", 39.3434, 117.3616, 4), ("Beijing", 39.9042, 116.4074, 2),
    ("Shenyang", 41.8057, 123.4315, 2), ("Dalian", 38.9140, 121.6147, 2),
    ("Chongqing", 29.5630, 106.5516, 4), ("Chengdu", 30.5728, 104.0668, 4),
    ("Wuhan", 30.5928, 114.3055, 4), ("Changsha", 28.2282, 112.9388, 3),
    ("Zhengzhou", 34.7466, 113.6254, 3), ("Xi'an", 34.3416, 108.9398, 3),
    ("Nanchang", 28.6820, 115.8579, 2), ("Kunming", 25.0389, 102.7183, 1),
    ("Shijiazhuang", 38.0428, 114.5149, 1), ("Harbin", 45.8038, 126.5350, 1),
]

_ALUMINIUM = ["al6061", "al7075", "al5052", "al6063"]
_STAINLESS = ["ss303", "ss304", "ss316", "ss420"]
_STEELS = ["steel_q235", "steel_45", "steel_40cr"]
_METALS = _ALUMINIUM + _STAINLESS + _STEELS + ["brass_h62", "copper_t2"]
_SHEET = ["steel_spcc", "steel_secc", "steel_q235", "ss304", "ss316", "al5052", "al6061"]
_PCB = ["fr4", "rogers_4350b", "aluminium_pcb", "polyimide_flex"]
_TEXTILES = ["cotton", "polyester", "nylon_fabric", "leather"]

# process -> materials machines of that process take ([] = any), typical rate (fen/hour),
# setup minutes range. Rates are 2026 Chinese shop rates, varied per machine below.
PROCESSES: dict[str, dict[str, Any]] = {
    "cnc_milling": {"materials": _METALS + ["pom", "abs", "pc", "peek"], "rate": 15000,
                    "setup": (30, 90)},
    "cnc_turning": {"materials": _METALS + ["pom", "pa6"], "rate": 10000, "setup": (20, 60)},
    "cylindrical_grinding": {"materials": _STAINLESS + _STEELS, "rate": 10000,
                             "setup": (20, 45)},
    "deburring": {"materials": _METALS + ["steel_spcc", "zamak3"], "rate": 4500,
                  "setup": (0, 15)},
    "cmm_inspection": {"materials": [], "rate": 20000, "setup": (15, 45)},
    "laser_cutting": {"materials": _SHEET, "rate": 25000, "setup": (10, 30)},
    "press_brake_bending": {"materials": _SHEET, "rate": 10000, "setup": (15, 40)},
    "mig_welding": {"materials": ["steel_q235", "steel_spcc", "steel_45", "ss304", "al5052",
                                  "al6061"], "rate": 8000, "setup": (15, 45)},
    "tig_welding": {"materials": ["ss304", "ss316", "al5052", "al6061", "steel_q235",
                                  "copper_t2"], "rate": 10000, "setup": (15, 45)},
    "powder_coating": {"materials": ["steel_spcc", "steel_secc", "steel_q235", "al5052",
                                     "al6061", "al6063", "ss304"], "rate": 15000,
                       "setup": (30, 60)},
    "anodizing": {"materials": _ALUMINIUM, "rate": 12000, "setup": (45, 90)},
    "electroplating": {"materials": ["steel_q235", "steel_45", "steel_40cr", "steel_spcc",
                                     "brass_h62", "copper_t2", "zamak3", "ss304"],
                       "rate": 15000, "setup": (45, 90)},
    "heat_treatment": {"materials": ["steel_45", "steel_40cr", "ss304", "ss316", "ss420",
                                     "al6061", "al7075"], "rate": 8000, "setup": (60, 120)},
    "sandblasting": {"materials": _METALS + ["pa12"], "rate": 6000, "setup": (5, 20)},
    "injection_moulding": {"materials": ["abs", "pc", "pa6", "pa66_gf30", "pom", "pp", "pe",
                                         "tpu"], "rate": 12000, "setup": (90, 240)},
    "ultrasonic_welding": {"materials": ["abs", "pc", "pp", "pa6", "pe"], "rate": 6000,
                           "setup": (30, 60)},
    "smt_assembly": {"materials": _PCB, "rate": 40000, "setup": (60, 150)},
    "through_hole_soldering": {"materials": ["fr4", "rogers_4350b"], "rate": 6000,
                               "setup": (30, 60)},
    "pcb_testing": {"materials": _PCB, "rate": 10000, "setup": (45, 90)},
    "conformal_coating": {"materials": _PCB, "rate": 8000, "setup": (30, 60)},
    "sls_printing": {"materials": ["pa12", "tpu"], "rate": 20000, "setup": (30, 90)},
    "fdm_printing": {"materials": ["pla", "abs", "petg", "pc", "tpu"], "rate": 3000,
                     "setup": (5, 15)},
    "fabric_cutting": {"materials": _TEXTILES, "rate": 6000, "setup": (20, 40)},
    "sewing": {"materials": _TEXTILES, "rate": 3500, "setup": (30, 60)},
    "embroidery": {"materials": _TEXTILES, "rate": 5000, "setup": (20, 40)},
    "manual_assembly": {"materials": [], "rate": 4500, "setup": (10, 30)},
    "packaging": {"materials": [], "rate": 3500, "setup": (5, 15)},
}

# shop kind -> (weight, machines: (processes of one machine, min count, max count))
SHOPS: dict[str, tuple[int, list[tuple[tuple[str, ...], int, int]]]] = {
    "cnc_shop": (8, [(("cnc_milling",), 2, 4), (("cnc_turning",), 1, 3),
                     (("cnc_turning", "cnc_milling"), 0, 1), (("deburring",), 1, 1),
                     (("cmm_inspection",), 0, 1)]),
    "precision_turning": (3, [(("cnc_turning",), 2, 4), (("cylindrical_grinding",), 1, 2),
                              (("heat_treatment",), 0, 1), (("deburring",), 1, 1),
                              (("cmm_inspection",), 0, 1)]),
    "sheet_metal": (6, [(("laser_cutting",), 1, 2), (("press_brake_bending",), 1, 3),
                        (("mig_welding",), 1, 2), (("tig_welding",), 0, 1),
                        (("powder_coating",), 0, 1), (("manual_assembly",), 0, 1)]),
    "moulding": (5, [(("injection_moulding",), 2, 5), (("ultrasonic_welding",), 0, 1),
                     (("manual_assembly",), 1, 2), (("packaging",), 1, 1)]),
    "electronics": (5, [(("smt_assembly",), 1, 2), (("through_hole_soldering",), 1, 1),
                        (("pcb_testing",), 1, 1), (("conformal_coating",), 0, 1),
                        (("manual_assembly",), 0, 1)]),
    "finishing": (4, [(("anodizing",), 1, 2), (("electroplating",), 0, 1),
                      (("powder_coating",), 0, 1), (("sandblasting",), 1, 1),
                      (("heat_treatment",), 0, 1)]),
    "additive": (2, [(("sls_printing",), 1, 2), (("fdm_printing",), 1, 3),
                     (("sandblasting",), 0, 1)]),
    "garment": (3, [(("fabric_cutting",), 1, 1), (("sewing",), 2, 5), (("embroidery",), 0, 1),
                    (("packaging",), 1, 1)]),
    "assembly_house": (2, [(("manual_assembly",), 1, 3), (("packaging",), 1, 1),
                           (("cmm_inspection",), 0, 1)]),
}

# product -> (weight, materials, (quantity min, max), steps (process, minutes/unit range)).
# Minutes per unit are per machine or per line/cell for labour processes (sewing, assembly).
PRODUCTS: dict[str, tuple[int, list[str], tuple[int, int], list[tuple[str, float, float]]]] = {
    "machined_al_anodized": (8, ["al6061", "al7075"], (10, 300), [
        ("cnc_milling", 4, 15), ("deburring", 0.5, 2), ("anodizing", 0.3, 1),
        ("cmm_inspection", 2, 8)]),
    "machined_steel_part": (5, ["steel_45", "ss304", "ss316"], (10, 200), [
        ("cnc_milling", 5, 20), ("deburring", 0.5, 2), ("cmm_inspection", 2, 8)]),
    "turned_brass_fitting": (4, ["brass_h62"], (200, 2000), [
        ("cnc_turning", 0.8, 3), ("deburring", 0.2, 0.8), ("electroplating", 0.1, 0.4)]),
    "hardened_shaft": (3, ["steel_45", "steel_40cr"], (20, 300), [
        ("cnc_turning", 3, 8), ("heat_treatment", 0.5, 2), ("cylindrical_grinding", 3, 8),
        ("cmm_inspection", 2, 6)]),
    "sheet_metal_enclosure": (7, ["steel_spcc", "steel_q235"], (10, 300), [
        ("laser_cutting", 1, 3), ("press_brake_bending", 1, 4), ("mig_welding", 3, 10),
        ("powder_coating", 1, 3), ("manual_assembly", 2, 8)]),
    "stainless_bracket": (4, ["ss304"], (50, 1000), [
        ("laser_cutting", 0.5, 2), ("press_brake_bending", 0.5, 2), ("tig_welding", 2, 6)]),
    "moulded_housing": (7, ["abs", "pc", "pp"], (500, 2000), [
        ("injection_moulding", 0.3, 1.2), ("manual_assembly", 0.3, 2), ("packaging", 0.1, 0.4)]),
    "moulded_clip": (3, ["pom", "pa66_gf30"], (1000, 2000), [
        ("injection_moulding", 0.15, 0.5), ("packaging", 0.05, 0.2)]),
    "pcb_assembly": (7, ["fr4"], (50, 2000), [
        ("smt_assembly", 0.4, 1.5), ("through_hole_soldering", 0.5, 3),
        ("pcb_testing", 0.3, 1.5)]),
    "coated_control_board": (2, ["fr4"], (50, 1000), [
        ("smt_assembly", 0.4, 1.5), ("pcb_testing", 0.3, 1.5), ("conformal_coating", 0.3, 1),
        ("manual_assembly", 1, 4)]),
    "sls_prototype": (2, ["pa12"], (10, 100), [("sls_printing", 8, 30), ("sandblasting", 1, 3)]),
    "fdm_prototype": (2, ["pla", "petg"], (10, 40), [("fdm_printing", 30, 120)]),
    "workwear": (4, ["cotton", "polyester"], (100, 2000), [
        ("fabric_cutting", 0.2, 0.8), ("sewing", 1, 4), ("packaging", 0.1, 0.4)]),
    "embroidered_bag": (2, ["nylon_fabric", "polyester"], (50, 800), [
        ("fabric_cutting", 0.2, 0.8), ("sewing", 1.5, 5), ("embroidery", 1, 4),
        ("packaging", 0.1, 0.4)]),
    "anodizing_service": (2, ["al6061", "al6063"], (100, 2000), [("anodizing", 0.1, 0.5)]),
}

# rare requests nobody on the platform can do: a process no machine offers, or a material
# that no machine of the process takes (3-axis shops do not cut Inconel)
_Steps = list[tuple[str, float, float]]
IMPOSSIBLE_PRODUCTS: dict[str, tuple[list[str], tuple[int, int], _Steps]] = {
    "inconel_turbine_part": (["in718"], (5, 50), [
        ("cnc_milling", 20, 60), ("cmm_inspection", 5, 15)]),
    "slm_titanium_bracket": (["titanium_tc4"], (5, 40), [
        ("slm_metal_printing", 60, 180), ("sandblasting", 2, 5)]),
    "wire_edm_die_insert": (["steel_cr12mov"], (2, 20), [
        ("edm_wire", 30, 120), ("surface_grinding", 10, 30)]),
}

TRANSPORT: dict[str, int] = {"speed_kmh": 60, "handling_minutes": 240, "cost_per_km": 300,
                             "fixed_cost": 30000}

_CHINA_UTC_OFFSET = 480  # minutes: China keeps UTC+8 all year
_SHIFT_PATTERNS: dict[int, list[tuple[int, int]]] = {
    # local minutes of day; a lunch break on day shifts, continuous round the clock on three
    1: [(480, 720), (780, 1020)],          # 08:00-12:00, 13:00-17:00
    2: [(480, 720), (750, 1410)],          # 08:00-12:00, 12:30-23:30 (day + evening shift)
    3: [(0, 1440)],                        # 24 h
}


def _jitter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    """A point up to `km` away, uniform in the disc (a plant in the city's industrial belt)."""
    r = km * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(theta) / 111.2
    dlon = r * math.sin(theta) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + dlat, 4), round(lon + dlon, 4)


def _weighted(rng: random.Random, items: list[Any], weights: list[int]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


def _windows(
    rng: random.Random, horizon: int, days: int, local0: int, weekday0: int, plant: dict[str, Any]
) -> list[list[int]]:
    """Shift windows of one machine: the plant's pattern, its working days, a little noise."""
    pattern = _SHIFT_PATTERNS[plant["shifts"]]
    sparse = rng.random() < 0.15  # publishes only part of its capacity on the marketplace
    down_day = rng.randrange(days + 1) if rng.random() < 0.2 else -1  # maintenance day
    raw: list[tuple[int, int]] = []
    for d in range(days + 1):  # +1: the local day that straddles the horizon's end
        wd = (weekday0 + d) % 7
        if (wd == 5 and not plant["saturday"]) or (wd == 6 and not plant["sunday"]):
            continue
        if d == down_day or (sparse and rng.random() < 0.6):
            continue
        midnight = d * 1440 - local0
        for a, b in pattern:
            s, e = max(0, midnight + a), min(horizon, midnight + b)
            if s < e:
                raw.append((s, e))
    merged: list[list[int]] = []
    for s, e in raw:  # touching shifts (3-shift plants, day after day) form one window
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def _bookings(
    rng: random.Random, mid: str, windows: list[list[int]], busy: float
) -> list[dict[str, Any]]:
    """Work already on the machine: pieces of its windows, never two in one piece."""
    out: list[dict[str, Any]] = []
    for a, b in windows:
        # long windows (round-the-clock plants) are cut in 8 h pieces, one job each at most
        for s in range(a, b, 480):
            e = min(b, s + 480)
            if e - s < 60 or rng.random() >= busy:
                continue
            length = max(30, int((e - s) * rng.uniform(0.3, 1.0)) // 30 * 30)
            length = min(length, e - s)
            start = s + (rng.randint(0, (e - s - length) // 30) * 30 if e - s > length else 0)
            out.append({"machine": mid, "start": start, "end": start + length})
    return out


def generate(
    orders: int,
    plants: int,
    days: int = 14,
    seed: int = 0,
    start: str = "2026-12-07T00:00:00Z",
) -> dict[str, Any]:
    """A marketplace instance with `orders` orders and `plants` plants over `days` days."""
    if orders < 0 or plants < 1 or days < 1:
        raise ValueError("need orders >= 0, plants >= 1 and days >= 1")
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    if t0.tzinfo is None:
        t0 = t0.replace(tzinfo=UTC)
    local = t0.astimezone(timezone(timedelta(minutes=_CHINA_UTC_OFFSET)))
    local0 = local.hour * 60 + local.minute  # local minute of day at horizon minute 0
    weekday0 = local.weekday()
    horizon = days * 1440
    rng = random.Random(seed)

    city_weights = [c[3] for c in CITIES]
    shop_kinds = list(SHOPS)
    shop_weights = [SHOPS[k][0] for k in shop_kinds]
    # every kind of shop appears once before the weighted draw takes over
    kinds_order = shop_kinds[:]
    rng.shuffle(kinds_order)

    plant_list: list[dict[str, Any]] = []
    machine_list: list[dict[str, Any]] = []
    booking_list: list[dict[str, Any]] = []
    offered: dict[str, list[str]] = {}  # process -> materials taken by some machine (+ "*")
    for i in range(plants):
        kind = kinds_order[i] if i < len(kinds_order) else _weighted(rng, shop_kinds, shop_weights)
        ci = _weighted(rng, list(range(len(CITIES))), city_weights)
        name, clat, clon, _w = CITIES[ci]
        lat, lon = _jitter(rng, clat, clon, 8.0)
        shifts = _weighted(rng, [1, 2, 3], [5, 4, 1])
        pid = f"p{i + 1}"
        plant = {"id": pid, "lat": lat, "lon": lon, "city": name, "kind": kind,
                 "name": f"{name} {kind.replace('_', ' ')} {i + 1}", "shifts": shifts,
                 "saturday": rng.random() < 0.6, "sunday": rng.random() < 0.2}
        # inland and northern plants are a little cheaper than the Pearl and Yangtze deltas
        price = rng.uniform(0.85, 1.15) * (0.9 if clon < 112 or clat > 35 else 1.0)
        for procs, lo, hi in SHOPS[kind][1]:
            for _ in range(rng.randint(lo, hi)):
                mid = f"m{len(machine_list) + 1}"
                caps = []
                for proc in procs:
                    spec = PROCESSES[proc]
                    mats = list(spec["materials"])
                    if mats and rng.random() < 0.5:  # some machines take only part of the range
                        keep = max(1, int(len(mats) * rng.uniform(0.5, 1.0)))
                        mats = sorted(rng.sample(mats, keep))
                    caps.append({
                        "process": proc, "materials": mats,
                        "rate_per_hour": int(round(spec["rate"] * price * rng.uniform(0.8, 1.25),
                                                   -2)),
                        "setup_minutes": rng.randint(*spec["setup"]),
                        "speed": round(rng.uniform(0.8, 1.3), 2),
                    })
                    offered.setdefault(proc, []).extend(mats or ["*"])
                windows = _windows(rng, horizon, days, local0, weekday0, plant)
                busy = rng.choice([0.0, 0.0, 0.1, 0.25, 0.4, 0.6])
                booking_list.extend(_bookings(rng, mid, windows, busy))
                machine_list.append({"id": mid, "plant": pid, "capabilities": caps,
                                     "windows": windows,
                                     "name": f"{procs[0].replace('_', ' ')} #{mid[1:]}"})
        del plant["shifts"], plant["saturday"], plant["sunday"]
        plant_list.append(plant)

    def can(proc: str, mat: str) -> bool:
        got = offered.get(proc, [])
        return "*" in got or mat in got

    # only products the platform can make; the impossible ones are drawn separately
    doable = [(p, m) for p, (_w, mats, _q, steps) in PRODUCTS.items() for m in mats
              if all(can(proc, m) for proc, _a, _b in steps)]
    # a product's weight is shared among its materials
    doable_w = [PRODUCTS[p][0] / len(PRODUCTS[p][1]) for p, _m in doable]
    n_impossible = max(1 if orders >= 10 else 0, round(orders * 0.02))
    impossible_at = set(rng.sample(range(orders), min(n_impossible, orders)))
    if not doable:
        impossible_at = set(range(orders))
    imp_names = list(IMPOSSIBLE_PRODUCTS)
    op_cap = max(120, min(2400, days * 160))  # minutes of work of one op: a few shift-days

    order_list: list[dict[str, Any]] = []
    for i in range(orders):
        oid = f"o{i + 1}"
        if i in impossible_at:
            product = imp_names[i % len(imp_names)]
            mats, (qlo, qhi), steps = IMPOSSIBLE_PRODUCTS[product]
            material = rng.choice(mats)
        else:
            product, material = _weighted(rng, doable, doable_w)
            _w, _mats, (qlo, qhi), steps = PRODUCTS[product]
        mpus = [round(rng.uniform(a, b), 2) for _p, a, b in steps]
        qty = int(math.exp(rng.uniform(math.log(qlo), math.log(qhi))))  # log-uniform
        qty = max(1, min(qty, int(op_cap / max(mpus))))
        ops = [{"id": f"{oid}-{10 * (k + 1)}", "process": proc, "material": material,
                "minutes_per_unit": mpu} for k, ((proc, _a, _b), mpu) in enumerate(zip(steps, mpus,
                                                                                      strict=True))]
        work = sum(PROCESSES.get(p, {"setup": (60, 60)})["setup"][1] + qty * m
                   for (p, _a, _b), m in zip(steps, mpus, strict=True))
        value = sum(PROCESSES.get(p, {"rate": 20000})["rate"] * (qty * m) / 60
                    for (p, _a, _b), m in zip(steps, mpus, strict=True)) + 100000
        release = 0 if rng.random() < 0.35 else rng.randint(0, horizon // 2) // 60 * 60
        # calendar time: ~2.5x the work (shifts, weekends), a day per hand-over, ~2 days to ship
        needed = 2.5 * work + 1440 * (len(steps) - 1) * 0.5 + 2880
        tight = rng.random()
        factor = (rng.uniform(0.3, 0.7) if tight < 0.05 else rng.uniform(0.9, 1.3)
                  if tight < 0.2 else rng.uniform(1.5, 3.5))
        due = release + int(needed * factor) // 60 * 60 + 60
        bname, blat, blon, _w = CITIES[_weighted(rng, list(range(len(CITIES))), city_weights)]
        blat, blon = _jitter(rng, blat, blon, 20.0)
        order_list.append({
            "id": oid, "product": product, "buyer_city": bname, "quantity": qty,
            "release": release, "due": due, "lat": blat, "lon": blon,
            # 3% of the order's value per day late; leaving it out costs ten times its value
            "late_penalty_per_minute": max(1, round(value * 0.03 / 1440)),
            "unserved_penalty": int(round(value * 10, -3)),
            "operations": ops,
        })

    booking_list.sort(key=lambda b: (int(b["machine"][1:]), b["start"]))
    return {
        "format": "yunzao.problem/1",
        "currency": "CNY",
        "objective": "cost",
        "horizon": {"start": start, "minutes": horizon},
        "transport": dict(TRANSPORT),
        "plants": plant_list,
        "machines": machine_list,
        "bookings": booking_list,
        "orders": order_list,
        "generator": {"name": "yunzao.generate", "orders": orders, "plants": plants,
                      "days": days, "seed": seed},
    }
