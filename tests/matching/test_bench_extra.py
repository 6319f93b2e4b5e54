"""The families, re-plan and risk benchmarks run end to end on tiny instances."""

from __future__ import annotations

import io

from matching import bench
from matching.bench_trust import UNRELIABLE_PER_MILLE, with_risk
from matching.io.generate import generate


def test_bench_families_reports_tuning_and_reporting_seeds_apart(monkeypatch) -> None:
    monkeypatch.setitem(bench.MARKET, "S", (12, 4, 0.5))
    text = bench.bench_families("S", ["base", "rush"], [0], [100], None, 1, out=io.StringIO())
    rows = [r for r in text.splitlines() if r.startswith("| base") or r.startswith("| rush")]
    assert len(rows) == 4
    assert "tuning 100" in rows[0] and "reporting 0" in rows[1]
    assert all("| yes |" in r for r in rows)
    assert bench._seeds("0-2,7") == [0, 1, 2, 7]


def test_bench_families_with_a_clock_factor_gives_the_quiet_figures(monkeypatch) -> None:
    # the time limit becomes the work budget: however long the clock may run, the same
    # rows (bar the wall time), and the clock-cut column counts none
    monkeypatch.setitem(bench.MARKET, "S", (12, 4, 1.0))
    plain = bench.bench_families("S", ["base"], [0], [], None, 1, out=io.StringIO(),
                                 clock_factor=10)
    wide = bench.bench_families("S", ["base"], [0], [], None, 1, out=io.StringIO(),
                                clock_factor=5)
    row_p, row_w = (next(r for r in t.splitlines() if r.startswith("| base"))
                    for t in (plain, wide))
    assert row_w.endswith("| 0 |") and row_p.endswith("| 0 |")
    assert row_p.split("|")[3:9] == row_w.split("|")[3:9]
    assert "of work (the clock up to 5 s)" in wide


def test_risk_instance_marks_a_fifth_of_the_plants_unreliable() -> None:
    d = generate(10, 10, seed=1)
    on, bad = with_risk(d, True)
    off, bad_off = with_risk(d, False)
    assert bad == bad_off and len(bad) == 2
    assert all(p["risk_per_mille"] == UNRELIABLE_PER_MILLE for p in on["plants"]
               if p["id"] in bad)
    assert all(o["risk_cost"] > 0 for o in on["orders"])
    assert all(o["risk_cost"] == 0 for o in off["orders"])
