"""Consistency checks for the pure seed data in ``seed.taxonomy`` and ``seed.demo_world``."""

import math
import re
from collections import Counter

import pytest

from seed import demo_world, taxonomy

FAMILY_CODES = {f["code"] for f in taxonomy.FAMILIES}
MATERIAL_CODES = {m["code"] for m in taxonomy.MATERIALS}
PROCESS_BY_CODE = {p["code"]: p for p in taxonomy.PROCESSES}
ORGS = demo_world.FACTORIES + demo_world.BUYERS

EXPECTED_FAMILIES = {
    "machining",
    "sheet_metal",
    "moulding",
    "additive",
    "finishing",
    "heat_treatment",
    "electronics",
    "assembly",
    "textiles",
    "inspection",
}
REQUIRED_PROCESSES = {
    "cnc_milling",
    "cnc_5axis_milling",
    "cnc_turning",
    "edm_wire",
    "surface_grinding",
    "deburring",
    "laser_cutting",
    "plasma_cutting",
    "cnc_punching",
    "press_brake_bending",
    "stamping",
    "mig_welding",
    "tig_welding",
    "spot_welding",
    "injection_moulding",
    "overmoulding",
    "die_casting",
    "vacuum_casting",
    "sls_printing",
    "fdm_printing",
    "sla_printing",
    "slm_metal_printing",
    "anodizing",
    "powder_coating",
    "electroplating",
    "sandblasting",
    "painting",
    "heat_treatment",
    "vacuum_hardening",
    "nitriding",
    "smt_assembly",
    "through_hole_soldering",
    "pcb_testing",
    "conformal_coating",
    "manual_assembly",
    "packaging",
    "sewing",
    "fabric_cutting",
    "cmm_inspection",
    "first_article_inspection",
}
REQUIRED_MATERIALS = {
    "al6061",
    "al7075",
    "al5052",
    "ss304",
    "ss316",
    "steel_q235",
    "steel_45",
    "steel_40cr",
    "brass_h62",
    "copper_t2",
    "titanium_tc4",
    "abs",
    "pc",
    "pa6",
    "pa66_gf30",
    "pa12",
    "pom",
    "pp",
    "pe",
    "pmma",
    "peek",
    "tpu",
    "pla",
    "resin_photopolymer",
    "fr4",
    "rogers_4350b",
    "aluminium_pcb",
    "cotton",
    "polyester",
    "nylon_fabric",
    "leather",
}
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def iter_plants():
    for f in demo_world.FACTORIES:
        for plant in f["plants"]:
            yield f, plant


def iter_capabilities():
    for f, plant in iter_plants():
        for machine in plant["machines"]:
            for cap in machine["capabilities"]:
                yield f, plant, machine, cap


def all_emails() -> list[str]:
    emails = [u["email"] for org in ORGS for u in org["users"]]
    emails += [op["email"] for op in demo_world.OPERATORS]
    return emails


def assert_unique(values: list) -> None:
    dupes = [v for v, n in Counter(values).items() if n > 1]
    assert not dupes, f"duplicates: {dupes}"


# --- taxonomy ---------------------------------------------------------------------------------


def test_families_exact() -> None:
    codes = [f["code"] for f in taxonomy.FAMILIES]
    assert_unique(codes)
    assert set(codes) == EXPECTED_FAMILIES
    for f in taxonomy.FAMILIES:
        assert f["name_en"] and CJK.search(f["name_zh"])


def test_materials_unique_and_well_formed() -> None:
    assert_unique([m["code"] for m in taxonomy.MATERIALS])
    assert REQUIRED_MATERIALS <= MATERIAL_CODES
    assert len(taxonomy.MATERIALS) >= 30
    for m in taxonomy.MATERIALS:
        assert CODE.match(m["code"]), m
        assert m["category"] in {"metal", "plastic", "composite", "pcb", "textile"}, m
        assert m["name_en"] and CJK.search(m["name_zh"]), m


def test_processes_unique_required_and_well_formed() -> None:
    codes = [p["code"] for p in taxonomy.PROCESSES]
    assert_unique(codes)
    assert len(codes) >= 36
    assert set(codes) >= REQUIRED_PROCESSES, REQUIRED_PROCESSES - set(codes)
    for p in taxonomy.PROCESSES:
        assert CODE.match(p["code"]), p
        assert p["family"] in FAMILY_CODES, p
        assert p["name_en"] and CJK.search(p["name_zh"]), p
        assert p["unit"] == "part", p
        assert set(p["materials"]) <= MATERIAL_CODES, (
            p["code"],
            set(p["materials"]) - MATERIAL_CODES,
        )
        assert len(p["materials"]) == len(set(p["materials"])), p["code"]
        assert isinstance(p["typical_rate_per_hour"], int), p["code"]
        assert not isinstance(p["typical_rate_per_hour"], bool)
        # 10 to 1000 CNY per hour is the plausible range for Chinese shops.
        assert 1_000 <= p["typical_rate_per_hour"] <= 100_000, p["code"]
        assert p["typical_minutes_per_unit"] > 0, p["code"]
        assert isinstance(p["typical_setup_minutes"], int), p["code"]
        assert p["typical_setup_minutes"] >= 0, p["code"]
        assert 0 < p["tolerance_mm"] <= 2.0, p["code"]


def test_every_family_has_at_least_two_processes() -> None:
    counts = Counter(p["family"] for p in taxonomy.PROCESSES)
    for family in EXPECTED_FAMILIES:
        assert counts[family] >= 2, family


def test_any_material_processes_are_the_expected_ones() -> None:
    any_material = {p["code"] for p in taxonomy.PROCESSES if not p["materials"]}
    assert {"cmm_inspection", "first_article_inspection", "manual_assembly"} <= any_material
    assert "cnc_milling" not in any_material


def test_routing_templates() -> None:
    codes = [t["code"] for t in taxonomy.ROUTING_TEMPLATES]
    assert_unique(codes)
    assert len(codes) >= 6
    for t in taxonomy.ROUTING_TEMPLATES:
        assert t["name_en"] and CJK.search(t["name_zh"]), t["code"]
        assert t["operations"], t["code"]
        for op in t["operations"]:
            proc = PROCESS_BY_CODE.get(op["process"])
            assert proc is not None, (t["code"], op["process"])
            assert op["material"] in MATERIAL_CODES, (t["code"], op["material"])
            if proc["materials"]:
                assert op["material"] in proc["materials"], (t["code"], op)
            assert op["minutes_per_unit"] > 0
            assert op["tolerance_mm"] > 0


@pytest.mark.parametrize(
    ("code", "chain"),
    [
        ("machined_al_anodized", ["cnc_milling", "deburring", "anodizing", "cmm_inspection"]),
        (
            "sheet_metal_enclosure",
            [
                "laser_cutting",
                "press_brake_bending",
                "mig_welding",
                "powder_coating",
                "manual_assembly",
            ],
        ),
        ("moulded_part_assembled", ["injection_moulding", "manual_assembly", "packaging"]),
        ("pcb_assembly", ["smt_assembly", "through_hole_soldering", "pcb_testing"]),
    ],
)
def test_required_template_chains(code: str, chain: list[str]) -> None:
    by_code = {t["code"]: t for t in taxonomy.ROUTING_TEMPLATES}
    assert [op["process"] for op in by_code[code]["operations"]] == chain


# --- demo world -------------------------------------------------------------------------------


def test_demo_password() -> None:
    assert demo_world.DEMO_PASSWORD == "yunzao-demo-2026"


def test_cities_in_china() -> None:
    assert len(demo_world.CITIES) >= 16
    for name, c in demo_world.CITIES.items():
        assert 18 <= c["lat"] <= 54 and 73 <= c["lon"] <= 135, name
        assert CJK.search(c["name_zh"]) and c["province"], name
        assert c["timezone"] == "Asia/Shanghai", name


def test_known_city_coordinates() -> None:
    # Spot-check a few against well-known values (within 30 km).
    known = {
        "Shenzhen": (22.54, 114.06),
        "Suzhou": (31.30, 120.58),
        "Chengdu": (30.57, 104.07),
        "Tianjin": (39.08, 117.20),
        "Xi'an": (34.34, 108.94),
    }
    for name, (lat, lon) in known.items():
        c = demo_world.CITIES[name]
        assert haversine_km(lat, lon, c["lat"], c["lon"]) < 30, name


def test_slugs_and_emails_unique() -> None:
    slugs = [org["slug"] for org in ORGS]
    assert_unique(slugs)
    for s in slugs:
        assert SLUG.match(s), s
    emails = all_emails()
    assert_unique([e.lower() for e in emails])
    for e in emails:
        assert re.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+", e), e
        domain = e.split("@", 1)[1]
        assert domain.endswith(".example.cn") or domain.endswith("example.com"), e


def test_operators() -> None:
    assert demo_world.OPERATORS == [
        {"email": "ops@yunzao.example.com", "name": "Platform Operator"}
    ]


def test_orgs_well_formed() -> None:
    for org in ORGS:
        assert org["city"] in demo_world.CITIES, org["slug"]
        assert org["name"] and CJK.search(org["name_zh"]), org["slug"]
        assert org["description"], org["slug"]
        assert isinstance(org["verified"], bool), org["slug"]
        assert org["users"], org["slug"]
        roles = [u["role"] for u in org["users"]]
        assert "admin" in roles, org["slug"]
        assert set(roles) <= {"admin", "member"}, org["slug"]
        for u in org["users"]:
            assert u["name"], org["slug"]


def test_factory_counts() -> None:
    factories = demo_world.FACTORIES
    assert len(factories) >= 12
    assert len({f["city"] for f in factories}) >= 8
    assert {f["kind"] for f in factories} <= {"factory", "both"}
    assert any(f["kind"] == "both" for f in factories)
    assert sum(1 for f in factories if not f["verified"]) == 2
    assert any(len(f["plants"]) >= 2 for f in factories)


def test_buyer_counts() -> None:
    buyers = demo_world.BUYERS
    assert len(buyers) >= 5
    assert all(b["kind"] == "buyer" for b in buyers)
    assert "plants" not in {k for b in buyers for k in b}
    assert sum(1 for b in buyers if not b["verified"]) == 1


def test_plants_near_their_city() -> None:
    for f, plant in iter_plants():
        city = demo_world.CITIES[plant["city"]]
        assert 18 <= plant["lat"] <= 54 and 73 <= plant["lon"] <= 135
        d = haversine_km(city["lat"], city["lon"], plant["lat"], plant["lon"])
        assert d <= 80, (f["slug"], plant["name"], round(d, 1))
        assert plant["timezone"] == "Asia/Shanghai"
        assert plant["address"] and plant["name"]


def test_every_factory_has_machines_and_capabilities() -> None:
    for f in demo_world.FACTORIES:
        assert f["plants"], f["slug"]
        for plant in f["plants"]:
            assert 3 <= len(plant["machines"]) <= 8, (f["slug"], plant["name"])
            for m in plant["machines"]:
                assert m["name"] and m["kind"], f["slug"]
                assert m["capabilities"], (f["slug"], m["name"])
    # Machine names are unique within a plant.
    for _f, plant in iter_plants():
        assert_unique([m["name"] for m in plant["machines"]])


def test_capabilities_reference_known_codes() -> None:
    for f, _plant, m, cap in iter_capabilities():
        where = (f["slug"], m["name"], cap["process"])
        proc = PROCESS_BY_CODE.get(cap["process"])
        assert proc is not None, where
        assert set(cap["materials"]) <= MATERIAL_CODES, where
        if proc["materials"]:
            assert cap["materials"], where
            assert set(cap["materials"]) <= set(proc["materials"]), (
                where,
                set(cap["materials"]) - set(proc["materials"]),
            )
        else:
            assert cap["materials"] == [], where


def test_capability_numbers() -> None:
    for f, _plant, m, cap in iter_capabilities():
        where = (f["slug"], m["name"], cap["process"])
        rate = cap["rate_per_hour"]
        assert isinstance(rate, int) and not isinstance(rate, bool) and rate > 0, where
        assert isinstance(cap["setup_minutes"], int) and cap["setup_minutes"] >= 0, where
        assert 0.3 <= cap["speed"] <= 3.0, where
        assert isinstance(cap["max_part_mm"], int) and cap["max_part_mm"] > 0, where
        assert 0 < cap["tolerance_mm"] <= 2.0, where


def test_every_family_offered_by_some_machine() -> None:
    offered = {PROCESS_BY_CODE[cap["process"]]["family"] for *_, cap in iter_capabilities()}
    assert offered == EXPECTED_FAMILIES


def test_every_template_can_be_routed() -> None:
    offered: dict[str, set[str]] = {}
    any_material: set[str] = set()
    for *_, cap in iter_capabilities():
        if cap["materials"]:
            offered.setdefault(cap["process"], set()).update(cap["materials"])
        else:
            any_material.add(cap["process"])
    for t in taxonomy.ROUTING_TEMPLATES:
        for op in t["operations"]:
            ok = op["process"] in any_material or op["material"] in offered.get(
                op["process"], set()
            )
            assert ok, (t["code"], op)


def test_lengths_fit_the_schema() -> None:
    # Mirrors the column limits in market.models (codes 40, names 120, slugs 80, ...).
    for rows in (taxonomy.FAMILIES, taxonomy.MATERIALS, taxonomy.PROCESSES):
        for row in rows:
            assert len(row["code"]) <= 40, row["code"]
            assert len(row["name_en"]) <= 120 and len(row["name_zh"]) <= 120, row["code"]
    for org in ORGS:
        assert len(org["slug"]) <= 80 and len(org["name"]) <= 200, org["slug"]
        assert len(org["name_zh"]) <= 200 and len(org["description"]) <= 4000, org["slug"]
        assert len(org["city"]) <= 120, org["slug"]
        for u in org["users"]:
            assert len(u["email"]) <= 254 and len(u["name"]) <= 120, u["email"]
