"""The taxonomy is read once per process and database, and a change committed here is seen
at once (market.catalog.service)."""

from __future__ import annotations

from sqlalchemy import event

from market.catalog import service as catalog
from market.catalog.models import Process


def _queries(app, read) -> int:
    seen = [0]

    def count(*_args, **_kwargs) -> None:
        seen[0] += 1

    engine = app.extensions["yunzao_db"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen[0]


def test_the_taxonomy_is_read_once_then_served_from_memory(app, taxonomy, session):
    first = _queries(app, lambda: catalog.processes(session))
    again = _queries(app, lambda: (catalog.processes(session), catalog.materials(session),
                                   catalog.families(session)))
    assert first > 0
    assert again == 0
    names = {i.process.code: i.process.name_en for i in catalog.processes(session)}
    assert names["cnc_milling"]
    milling = next(i for i in catalog.processes(session) if i.process.code == "cnc_milling")
    assert "al6061" in milling.materials


def test_a_committed_change_is_seen_at_once(app, taxonomy, session):
    catalog.processes(session)
    process = session.get(Process, "cnc_milling")
    process.name_en = "Milling (CNC)"
    session.add(process)
    session.flush()
    session.rollback()  # a change that does not commit keeps the copy
    assert _queries(app, lambda: catalog.processes(session)) == 0
    process = session.get(Process, "cnc_milling")
    process.name_en = "Milling (CNC)"
    session.add(process)
    session.commit()
    names = {i.process.code: i.process.name_en for i in catalog.processes(session)}
    assert names["cnc_milling"] == "Milling (CNC)"


def test_the_copies_outlive_the_session_that_read_them(app, taxonomy):
    from market.core.db import Session

    with Session(app.extensions["yunzao_db"]) as reader:  # expires its objects on commit
        infos = catalog.processes(reader)
        reader.commit()
    assert infos[0].process.name_en  # no DetachedInstanceError: a copy of its own


def test_another_process_change_is_seen_after_the_cache_time(app, taxonomy, session,
                                                             monkeypatch):
    catalog.processes(session)
    # a change written by another process (a seed run): bypasses this process's sessions
    with app.extensions["yunzao_db"].begin() as conn:
        conn.exec_driver_sql("update process set name_en = 'Elsewhere' "
                             "where code = 'cnc_milling'")
    cached = {i.process.code: i.process.name_en for i in catalog.processes(session)}
    assert cached["cnc_milling"] != "Elsewhere"
    monkeypatch.setattr(catalog, "CACHE_SECONDS", 0.0)
    fresh = {i.process.code: i.process.name_en for i in catalog.processes(session)}
    assert fresh["cnc_milling"] == "Elsewhere"
