"""Rows of a list rendered once per distinct content and reader, then reused (collection
caching, as Rails' `render partial:, collection:, cached: true`).

A row's HTML is a function of the row's values, the reader's language and zone and the
site's script root, and of nothing else: a row template may use the row, filters and the
template globals that depend on these alone (`_`, `url_for`, labels, dates, money), never
the request, the session or the signed-in user (tests/core/test_fragments.py checks every
row template for that). So the memo needs no invalidation: a changed row has another key.
A list page of 50 rows wrote some 600 escaped values a request; a row seen before costs a
dictionary lookup."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import Flask, current_app, request
from markupsafe import Markup

from market.core.reader import reader

MEMO_ROWS = 20_000  # per process and app: a few MB of HTML at most, then it starts afresh

_memos: weakref.WeakKeyDictionary[Flask, dict[Hashable, str]] = weakref.WeakKeyDictionary()


def _memo() -> dict[Hashable, str]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    memo = _memos.get(app)
    if memo is None:
        memo = _memos.setdefault(app, {})
    return memo


def _scope(template: str) -> tuple[str, str, str, str]:
    found = reader()
    return (template, found.locale_id if found else "", found.zone_name if found else "",
            request.script_root)


def fragment(template: str, **values: Hashable) -> Markup:
    """`template` rendered with `values` alone (the navigation with the reader's role and
    the page it is on, say), remembered by them."""
    memo = _memo()
    key = (_scope(template), tuple(sorted(values.items())))
    html = memo.get(key)
    if html is None:
        if len(memo) >= MEMO_ROWS:
            memo.clear()
        html = memo[key] = current_app.jinja_env.get_template(template).render(values)
    return Markup(html)


def rows(template: str, items: Iterable[Any], name: str = "row",
         key: Callable[[Any], Hashable] | None = None) -> Markup:
    """Each of `items` rendered by `template` (the item as `name`), joined. `key(item)`
    must change whenever anything the template shows of the item changes; by default the
    item's values (a named tuple, or a database row: every column the template may show)."""
    memo = _memo()
    scope = _scope(template)
    compiled = None
    out = []
    for item in items:
        k = (scope, tuple(item) if key is None else key(item))
        html = memo.get(k)
        if html is None:
            if compiled is None:
                compiled = current_app.jinja_env.get_template(template)
            if len(memo) >= MEMO_ROWS:
                memo.clear()
            html = memo[k] = compiled.render({name: item})
        out.append(html)
    return Markup("".join(out))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(rows=rows, fragment=fragment)
