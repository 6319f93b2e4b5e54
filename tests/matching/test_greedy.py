"""Order insertion: the plain greedy's dead end and the label insertion that avoids it."""

from __future__ import annotations

from matching.geo import Legs
from matching.problem import Problem
from matching.result import build_plan, order_outcome
from matching.search.greedy import greedy, insert_order, insert_order_labels, make_timelines
from tests.matching.conftest import assert_valid, machine, order, problem


def _trap() -> dict:
    # Milling is cheapest on m_cheap, but m_cheap opens late; the only anodizing line
    # closes at minute 300. Cheapest-first milling leaves no time to anodize; milling on
    # the dearer, earlier machine of the same plant serves the order.
    return problem(
        [machine("m_cheap", "p1", "cnc_milling", rate=3000, windows=[[240, 2000]]),
         machine("m_dear", "p1", "cnc_milling", rate=9000, windows=[[0, 2000]]),
         machine("anod", "p1", "anodizing", rate=6000, windows=[[0, 300]])],
        [order("o1", [("cnc_milling", None, 6.0), ("anodizing", None, 6.0)],
               penalty=10**8)],
        horizon=2000)


def test_label_insertion_avoids_the_greedy_dead_end() -> None:
    d = _trap()
    p = Problem.from_dict(d)
    legs = Legs(p)
    opts = [p.options(0, k) for k in range(2)]
    assert insert_order(p, legs, make_timelines(p), p.orders[0], opts, "cost") is None
    ins = insert_order_labels(p, legs, make_timelines(p), p.orders[0], opts)
    assert ins is not None
    assert [p.machines[mi].id for mi, _s, _e in ins.placed] == ["m_dear", "anod"]
    assert ins.cost == order_outcome(p, legs, 0, ins.placed)[2]
    plain = greedy(p, legs)
    labelled = greedy(p, legs, labels=True)
    assert 0 in plain[1] and not labelled[1]
    assert_valid(d, build_plan(p, labelled[0], labelled[1], "FEASIBLE", None, {}, legs))


def test_label_insertion_prefers_the_cheapest_chain_when_both_fit() -> None:
    d = _trap()
    d["machines"][2]["windows"] = [[0, 2000]]  # anodizing open all along: no trap
    p = Problem.from_dict(d)
    legs = Legs(p)
    opts = [p.options(0, k) for k in range(2)]
    work = [0]
    ins = insert_order_labels(p, legs, make_timelines(p), p.orders[0], opts, work)
    assert ins is not None and p.machines[ins.placed[0][0]].id == "m_cheap"
    greedy_ins = insert_order(p, legs, make_timelines(p), p.orders[0], opts, "cost")
    assert greedy_ins is not None and ins.cost == greedy_ins.cost
    assert work[0] >= 4  # two milling machines, then anodizing after each label


def test_zero_length_work_never_lets_two_operations_share_a_machine() -> None:
    # found by the tabu search's property test: a zero-minute operation placed first at
    # minute 0 made the timeline's ends unsorted, and two 1-minute operations both got 0
    from matching.io.fjs import parse_fjs
    from matching.search.greedy import dispatch_ops

    d = parse_fjs("3 1\n1 1 1 0\n1 1 1 1\n1 1 1 1\n")
    p = Problem.from_dict(d)
    tl = make_timelines(p)[0]
    tl.add(0, 0)
    tl.add(0, 1)
    assert tl.earliest(0, 1) == (1, 2)
    pl, un = dispatch_ops(p, Legs(p))
    assert not un
    assert_valid(d, build_plan(p, pl, un, "FEASIBLE", None, {}, Legs(p)))


def test_pruned_insertion_gives_exactly_the_unpruned_plan(monkeypatch) -> None:
    # options are sorted by cost and skipped when they cannot beat the best so far: at 1,000
    # plants this made the due-date greedy five times faster; the plan must not change
    from matching.io.generate import generate
    from matching.search import greedy as greedy_mod

    p = Problem.from_dict(generate(60, 30, seed=4))
    fast = greedy(p)
    monkeypatch.setattr(greedy_mod, "PRUNE_MIN_OPTIONS", 10**9)
    assert greedy(Problem.from_dict(generate(60, 30, seed=4))) == fast
    assert len(fast[0]) > 50
