"""The .fjs loader on every shared benchmark file, and its messages on malformed files."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from matching.io.fjs import load_fjs, parse_fjs
from matching.validate import validate


def _fjsp_dir() -> Path:
    env = os.environ.get("YUNZAO_FJSP_DIR")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmarks" / "fjsp").resolve()


FJSP_DIR = _fjsp_dir()
needs_dir = pytest.mark.skipif(
    not (FJSP_DIR / "best_known.csv").is_file(),
    reason=f"FJSP benchmark files not found in {FJSP_DIR} (set YUNZAO_FJSP_DIR)",
)


def _best_known() -> dict[str, dict[str, str]]:
    if not (FJSP_DIR / "best_known.csv").is_file():
        return {}
    with open(FJSP_DIR / "best_known.csv", newline="") as f:
        return {row["instance"]: row for row in csv.DictReader(f)}


def _files() -> list[str]:
    if not FJSP_DIR.is_dir():
        return []
    return sorted(p.relative_to(FJSP_DIR).as_posix() for p in FJSP_DIR.rglob("*.fjs"))


def serial_plan(problem: dict[str, Any]) -> dict[str, Any]:
    """Every operation back to back on its first alternative: valid by construction."""
    t = 0
    assignments, entries = [], []
    for order in problem["orders"]:
        for op in order["operations"]:
            alt = op["alternatives"][0]
            assignments.append({"operation": op["id"], "machine": alt["machine"], "start": t,
                                "end": t + alt["minutes"]})
            t += alt["minutes"]
        entries.append({"order": order["id"], "completion": t, "lateness": 0, "cost": 0})
    return {"format": "yunzao.plan/1", "status": "FEASIBLE", "objective": t, "bound": None,
            "assignments": assignments, "unserved": [], "orders": entries}


@needs_dir
def test_every_listed_instance_exists() -> None:
    files = set(_files())
    missing = [name for name in _best_known() if name not in files]
    assert not missing
    assert len(files) >= 70


@needs_dir
@pytest.mark.parametrize("name", _files() or ["(none)"])
def test_load_matches_best_known(name: str) -> None:
    problem = load_fjs(FJSP_DIR / name)
    row = _best_known()[name]
    assert len(problem["orders"]) == int(row["jobs"])
    assert len(problem["machines"]) == int(row["machines"])
    assert sum(len(o["operations"]) for o in problem["orders"]) == int(row["operations"])
    assert problem["objective"] == "makespan"
    horizon = problem["horizon"]["minutes"]
    assert horizon == sum(max(a["minutes"] for a in op["alternatives"])
                          for o in problem["orders"] for op in o["operations"])
    assert horizon >= int(row["best_known_makespan"])
    assert validate(problem, serial_plan(problem)) == []


def test_small_file_in_detail() -> None:
    text = "2 3 1.5\n\n2  2 1 5 3 4\t1 2 7   \n1 3 1 1 2 2 3 3\n\n"
    p = parse_fjs(text, name="tiny")
    assert p["format"] == "yunzao.problem/1"
    assert p["currency"] == "XXX"
    assert p["horizon"] == {"start": "2000-01-01T00:00:00Z", "minutes": 5 + 7 + 3}
    assert p["transport"] == {"speed_kmh": 60, "handling_minutes": 0, "cost_per_km": 0,
                              "fixed_cost": 0}
    assert p["plants"] == [{"id": "p1", "lat": 0, "lon": 0}]
    assert [m["id"] for m in p["machines"]] == ["m1", "m2", "m3"]
    assert all(m["windows"] == [[0, 15]] and m["plant"] == "p1" for m in p["machines"])
    j1 = p["orders"][0]
    assert j1["id"] == "j1" and j1["quantity"] == 1 and j1["release"] == 0
    assert j1["unserved_penalty"] == 10**9 and j1["late_penalty_per_minute"] == 0
    assert "lat" not in j1 and "due" not in j1
    assert j1["operations"] == [
        {"id": "j1-1", "alternatives": [{"machine": "m1", "minutes": 5, "cost": 0},
                                        {"machine": "m3", "minutes": 4, "cost": 0}]},
        {"id": "j1-2", "alternatives": [{"machine": "m2", "minutes": 7, "cost": 0}]},
    ]
    assert [op["id"] for op in p["orders"][1]["operations"]] == ["j2-1"]
    assert validate(p, serial_plan(p)) == []


def test_crlf_and_unreliable_third_number(tmp_path: Path) -> None:
    f = tmp_path / "x.fjs"
    f.write_bytes(b"1 2 1\r\n1 2 1 3 2 4 \r\n")
    p = load_fjs(f)
    assert p["horizon"]["minutes"] == 4
    assert p["fjs_name"] == "x"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("2\n", 1, "jobs machines"),
        ("x 3\n1 1 1 5\n", 1, "integers"),
        ("1 3\n1 1 1 five\n", 2, "integers"),
        ("2 3\n1 1 1 5\n", 3, "1 of 2 jobs"),
        ("1 3\n\n1 1 1 5\n1 1 1 5\n", 4, "after the 1 jobs"),
        ("1 3\n2 1 1 5\n", 2, "before operation 2"),
        ("1 3\n1 2 1 5\n", 2, "line ends first"),
        ("1 3\n1 1 4 5\n", 2, "machine 4"),
        ("1 3\n1 1 0 5\n", 2, "machine 0"),
        ("1 3\n1 1 1 5 9\n", 2, "left over"),
        ("1 3\n1 0\n", 2, "0 machines"),
        ("1 3\n0\n", 2, "at least one operation"),
        ("1 3\n1 1 1 -5\n", 2, "negative"),
        ("0 3\n", 1, "positive"),
    ],
)
def test_malformed_names_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    f = tmp_path / "bad.fjs"
    f.write_text(text)
    with pytest.raises(ValueError, match=f"line {line}:") as info:
        load_fjs(f)
    assert words in str(info.value)
    assert "bad.fjs" in str(info.value)
