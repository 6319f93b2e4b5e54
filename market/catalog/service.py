"""Read access to the process taxonomy.

Nearly every page names processes and materials, yet the taxonomy changes only when the seed
or a migration loads it (a deploy): reading its tables on every request cost a page about as
much as its own query. So each process keeps one copy per database, read on first use:
dropped at once when a change to a taxonomy table commits through this process, and re-read
after `CACHE_SECONDS` so that other processes (the other gunicorn workers, a `flask seed`
run) see a change within that time. The copies are detached objects of their own, safe to
read from any session and never to be added to one."""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from market.catalog.models import Material, Process, ProcessFamily, ProcessMaterial
from market.core.templating import localized

# how long another process's change to the taxonomy may stay unseen here
CACHE_SECONDS = 300.0
_TABLES = (Process, Material, ProcessFamily, ProcessMaterial)


@dataclass
class ProcessInfo:
    process: Process
    materials: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Taxonomy:
    read_at: float
    processes: list[ProcessInfo]
    families: list[ProcessFamily]
    materials: list[Material]
    # (kind, language) -> {code: name}, made on first use: pages name processes on every row
    names: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, compare=False)


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Engine, _Taxonomy] = weakref.WeakKeyDictionary()


def _copy(row: Any) -> Any:
    """A transient twin of a loaded row: no session can expire or refresh it."""
    return type(row)(**row.model_dump())


def _read(session: Session) -> _Taxonomy:
    links: dict[str, list[str]] = defaultdict(list)
    for link in session.exec(select(ProcessMaterial).order_by(col(ProcessMaterial.material_code))):
        links[link.process_code].append(link.material_code)
    families = [_copy(f) for f in
                session.exec(select(ProcessFamily).order_by(col(ProcessFamily.position)))]
    position = {f.code: f.position for f in families}
    rows = sorted((_copy(p) for p in session.exec(select(Process))),
                  key=lambda p: (position.get(p.family_code, 99), p.name_en))
    materials = [_copy(m) for m in session.exec(select(Material).order_by(col(Material.code)))]
    return _Taxonomy(time.monotonic(), [ProcessInfo(p, links.get(p.code, [])) for p in rows],
                     families, materials)


def _taxonomy(session: Session) -> _Taxonomy:
    engine = session.get_bind()
    if not isinstance(engine, Engine):  # a session bound to a connection
        engine = engine.engine
    found = _cache.get(engine)
    if found is not None and time.monotonic() - found.read_at < CACHE_SECONDS:
        return found
    fresh = _read(session)
    with _lock:
        _cache[engine] = fresh
    return fresh


def forget() -> None:
    """Drop every copy (the next read goes to the database)."""
    with _lock:
        _cache.clear()


@event.listens_for(OrmSession, "after_flush")
def _note_changes(session: OrmSession, _context: Any) -> None:
    if any(isinstance(obj, _TABLES)
           for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["taxonomy_changed"] = True


@event.listens_for(OrmSession, "after_commit")
def _drop_after_commit(session: OrmSession) -> None:
    if session.info.pop("taxonomy_changed", False):
        forget()


@event.listens_for(OrmSession, "after_rollback")
def _keep_after_rollback(session: OrmSession) -> None:
    session.info.pop("taxonomy_changed", None)


def processes(session: Session) -> list[ProcessInfo]:
    """Every process with its usual material codes, ordered by family then name."""
    return list(_taxonomy(session).processes)


def names(session: Session, kind: str, lang: str) -> dict[str, str]:
    """Code -> name in `lang` of every process (`kind` "process") or material ("material"),
    kept with this copy of the taxonomy."""
    found = _taxonomy(session)
    known = found.names.get((kind, lang))
    if known is None:
        rows = ([i.process for i in found.processes] if kind == "process" else found.materials)
        known = found.names[(kind, lang)] = {row.code: localized(row, lang=lang) for row in rows}
    return known


def families(session: Session) -> list[ProcessFamily]:
    return list(_taxonomy(session).families)


def materials(session: Session) -> list[Material]:
    return list(_taxonomy(session).materials)
