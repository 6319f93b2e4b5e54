"""The command line end to end, through subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching.bench import fjsp_root, update_sections
from tests.matching.conftest import machine, order, problem

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matching", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_generate_solve_validate_and_tamper(tmp_path: Path) -> None:
    prob = tmp_path / "p.json"
    r = run("generate", "--orders", "8", "--plants", "3", "--days", "7", "--seed", "2",
            "-o", str(prob))
    assert r.returncode == 0, r.stderr
    assert json.loads(prob.read_text())["format"] == "yunzao.problem/1"
    plan = tmp_path / "plan.json"
    r = run("solve", str(prob), "--time-limit", "2", "--workers", "1", "-o", str(plan))
    assert r.returncode == 0, r.stderr
    assert "objective=" in r.stderr
    r = run("validate", str(prob), str(plan))
    assert r.returncode == 0, r.stdout + r.stderr
    # tamper: move one operation by a minute and lie about the objective
    d = json.loads(plan.read_text())
    d["objective"] += 1
    if d["assignments"]:
        d["assignments"][0]["end"] += 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    r = run("validate", str(prob), str(bad))
    assert r.returncode == 1
    lines = [x for x in r.stdout.splitlines() if x.strip()]
    assert len(lines) >= 1 + bool(d["assignments"])


def test_solve_to_stdout_from_problem_json(tmp_path: Path) -> None:
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(problem([machine("m1", "p1")],
                                       [order("o1", [("cnc_milling", None, 1)])])))
    r = run("solve", str(prob), "--time-limit", "1")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["format"] == "yunzao.plan/1"
    assert plan["status"] == "OPTIMAL"
    assert plan["assignments"][0]["machine"] == "m1"


@pytest.mark.skipif(not (fjsp_root() / "kacem").exists(), reason="no shared FJSP files")
def test_solve_fjs_file(tmp_path: Path) -> None:
    f = fjsp_root() / "kacem" / "kacem1.fjs"
    out = tmp_path / "k.json"
    r = run("solve", str(f), "--time-limit", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["objective"] == 11  # closed instance
    assert run("validate", str(f), str(out)).returncode == 0


def test_bench_sections_replace_only_ours(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text("# Benchmarks\n\n## Web app\n\nkeep me\n\n## Quote latency\n\nold\n")
    update_sections(doc, {"## Quote latency": "new table", "## Matching engine: FJSP": "x"})
    text = doc.read_text()
    assert "keep me" in text and "new table" in text and "old" not in text
    assert text.index("## Web app") < text.index("## Quote latency")
    assert "## Matching engine: FJSP\n\nx" in text


def test_generate_a_family_and_solve_it_in_anytime_mode(tmp_path: Path) -> None:
    prob = tmp_path / "rush.json"
    r = run("generate", "--orders", "8", "--plants", "3", "--days", "7", "--seed", "2",
            "--family", "rush", "-o", str(prob))
    assert r.returncode == 0, r.stderr
    assert json.loads(prob.read_text())["generator"]["family"] == "rush"
    plan = tmp_path / "plan.json"
    r = run("solve", str(prob), "--time-limit", "2", "--workers", "1", "--anytime",
            "--gap-limit", "1.0", "-o", str(plan))
    assert r.returncode == 0, r.stderr
    out = json.loads(plan.read_text())
    assert out["bound_kind"] in ("relaxation", "cp-sat") and out["changes"] == []
    assert run("validate", str(prob), str(plan)).returncode == 0
    r = run("generate", "--orders", "2", "--plants", "1", "--family", "nope")
    assert r.returncode != 0 and "unknown family" in r.stderr
