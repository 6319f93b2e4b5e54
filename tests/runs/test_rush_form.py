"""The run form's "Rush the ticked orders" with nothing ticked says so, in words, and starts
nothing (it used to answer that a rush takes open orders, which reads as a wrong order)."""

from __future__ import annotations

from sqlmodel import func, select

from market.runs.models import MatchingRun


def test_rush_with_nothing_ticked(session, taxonomy, operator_client):
    response = operator_client.post("/operator/runs", data={"kind": "rush", "scope": "all",
                                                            "time_limit_seconds": "5"},
                                    headers={"Accept-Language": "en"}, follow_redirects=True)
    assert "Tick the orders to rush first." in response.text
    zh = operator_client.post("/operator/runs", data={"kind": "rush"},
                              headers={"Accept-Language": "zh"}, follow_redirects=True)
    assert "请先勾选要加急的订单。" in zh.text
    assert session.exec(select(func.count()).select_from(MatchingRun)).one() == 0
