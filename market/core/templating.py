"""Template helpers: money and time formatting, localised names, navigation."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import (
    format_skeleton,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import format_date as flask_format_date
from flask_babel import format_datetime, get_locale
from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup

from market.core.labels import audit_label, label
from market.core.models import MAX_ID
from market.core.money import format_money
from market.core.reader import locale_id, reader


def money(minor: int | None, currency: str = "CNY") -> str:
    return format_money(minor, currency)


def localized(obj: Any, attr: str = "name", lang: str | None = None) -> str:
    """Pick `name_zh` or `name_en` (or `name`) by the current locale (or `lang`)."""
    if (lang or locale_id()).startswith("zh"):
        value = getattr(obj, f"{attr}_zh", None)
        if value:
            return value
    return getattr(obj, f"{attr}_en", None) or getattr(obj, attr, "") or ""


def skeleton(value: date | datetime | None, pattern: str = "MMMd") -> str:
    """A date in the reader's locale from a CLDR skeleton ("MMMEd" -> "Mon, Dec 7" or
    "12月7日周一"), so field order follows the language."""
    if value is None:
        return "—"
    return _skeleton(pattern, value, locale_id())


@lru_cache(maxsize=1024)
def _skeleton(pattern: str, value: date | datetime, locale: str) -> str:
    # babel matches the skeleton against the locale's patterns on every call (a calendar
    # writes fourteen a page, the same week again and again)
    return format_skeleton(pattern, value, locale=locale)


@lru_cache(maxsize=1024)
def _date_text(value: date, fmt: str, locale: str) -> str:
    return babel_format_date(value, fmt, locale=locale)


def dateformat(value: date | datetime | None, fmt: str = "medium") -> str:
    """flask_babel's `dateformat` filter, remembered per day, format and language for a
    date (a datetime's day depends on the zone: the library's way)."""
    if value is None or isinstance(value, datetime):
        return flask_format_date(value, fmt)
    return _date_text(value, fmt, locale_id())


# pattern fields that name or offset the zone: their text depends on more than the wall clock
_ZONE_FIELDS = frozenset("zZvVOXx")
_MEMO_SIZE = 4096


@lru_cache(maxsize=64)
def _datetime_formatter(fmt: str, locale_id: str, zone_name: str) -> Callable[[datetime], str]:
    """What flask_babel's `format_datetime(value, fmt)` writes, with the locale's patterns
    looked up and parsed once. A list page formats a few hundred moments per request and the
    lookups and pytz's conversion were most of the cost: without zone fields the text is a
    function of the local day and the local time of day, converted with zoneinfo and
    remembered (a page shows the same days over and over)."""
    locale = Locale.parse(locale_id)
    if fmt == "minutes":  # the medium date and the time to the minute: what pages show
        frame = get_datetime_format("medium", locale=locale).replace("'", "")
        date_pattern = parse_pattern(get_date_format("medium", locale=locale))
        time_pattern = parse_pattern(get_time_format("short", locale=locale))
    elif fmt in ("full", "long", "medium", "short"):
        frame = get_datetime_format(fmt, locale=locale).replace("'", "")
        date_pattern = parse_pattern(get_date_format(fmt, locale=locale))
        time_pattern = parse_pattern(get_time_format(fmt, locale=locale))
    else:
        frame, date_pattern, time_pattern = "{0}", None, parse_pattern(fmt)
    fields = {name[0] for p in (date_pattern, time_pattern) if p
              for name in re.findall(r"%\((\w+)\)s", p.format)}
    if fields & _ZONE_FIELDS:  # the library's own way, zone names and all
        return lambda value: format_datetime(value, fmt)
    local_zone = ZoneInfo(zone_name)
    days: dict[date, str] = {}
    clocks: dict[tuple, str] = {}

    moments: dict[datetime, str] = {}  # a list shows the same moments row after row

    def format_(value: datetime) -> str:
        text = moments.get(value)
        if text is None:
            if len(moments) > _MEMO_SIZE:
                moments.clear()
            text = moments[value] = write(value)
        return text

    def write(value: datetime) -> str:
        local = value.astimezone(local_zone)
        day = local.date()
        if date_pattern is None:  # a free pattern: the whole moment
            return time_pattern.apply(local, locale)
        clock_key = (local.hour, local.minute, local.second, local.microsecond)
        clock = clocks.get(clock_key)
        if clock is None:
            if len(clocks) > _MEMO_SIZE:
                clocks.clear()
            clock = clocks[clock_key] = time_pattern.apply(local.timetz(), locale,
                                                           reference_date=day)
        text = days.get(day)
        if text is None:
            if len(days) > _MEMO_SIZE:
                days.clear()
            text = days[day] = date_pattern.apply(day, locale)
        return frame.replace("{0}", clock).replace("{1}", text)

    return format_


def when_formatter(fmt: str = "minutes") -> Callable[[datetime | None], str]:
    """`when` with its format and the reader looked up once, for a loop over many rows."""
    found = reader()
    if found is None:
        return lambda value: when(value, fmt)
    key = "when:" + fmt
    formatter = found.memo.get(key)
    if formatter is None:
        formatter = found.memo[key] = _datetime_formatter(fmt, found.locale_id,
                                                          found.zone_name)

    def format_(value: datetime | None) -> str:
        if not value:
            return "—"
        return formatter(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    return format_


def when(value: datetime | None, fmt: str = "minutes") -> str:
    """A moment in the reader's language and zone: the same text as flask_babel's
    `format_datetime(value, fmt)` (a naive value is UTC), at a fraction of the cost. The
    default, "minutes", is the medium style without seconds (no page needs them)."""
    if not value:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    found = reader()
    if found is None:
        return format_datetime(value, fmt)
    key = "when:" + fmt
    formatter = found.memo.get(key)
    if formatter is None:
        formatter = found.memo[key] = _datetime_formatter(fmt, found.locale_id,
                                                          found.zone_name)
    return formatter(value)


# translations -> {(msgid, autoescape): text}: the catalogues do not change while the
# process runs, and a page asks for the same few dozen strings on every request
_texts: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], Any]] = (
    weakref.WeakKeyDictionary())


@pass_eval_context
def template_gettext(eval_ctx: Any, string: str, **variables: Any) -> Any:
    """What Jinja's newstyle `_()`/`gettext()` returns (escaped values formatted into the
    translation, Markup where the template autoescapes), in one call instead of three
    nested ones, with each translation kept (and a plain string's text). It takes the
    evaluation context, not the context: Jinja makes a new context for every call of a
    context function inside a loop."""
    translations = reader().translations  # type: ignore[union-attr]
    known = _texts.get(translations)
    if known is None:
        known = _texts.setdefault(translations, {})
    key = (string, eval_ctx.autoescape)
    found = known.get(key)
    if found is None:
        if len(known) > _MEMO_SIZE:  # a template that translates what it is given
            known.clear()
        text = translations.ugettext(string)
        if key[1]:
            text = Markup(text)
        # the translation, and its text when no values go in (formatted all the same: a
        # literal %% is one percent sign either way)
        found = known[key] = (text, None if "%(" in text else text % {})
    if variables or found[1] is None:
        return found[0] % variables
    return found[1]


# an id no real row has, replaced by each row's own in `id_url`'s links
_MARK = MAX_ID - 12345


def id_url(endpoint: str, name: str, **values: Any) -> Any:
    """`url_for(endpoint, **{name: id}, **values)` for every row of a list at the cost of
    one url_for: the link is built once with a marker id, then each row's id goes in its
    place (url_for is several microseconds a call, and a list page had one a row)."""
    url = url_for(endpoint, **{name: _MARK}, **values)
    head, found, tail = url.partition(str(_MARK))
    if not found or str(_MARK) in tail:  # never in practice: then the slow way
        return lambda value: url_for(endpoint, **{name: value}, **values)
    return lambda value: f"{head}{int(value)}{tail}"


def reader_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` as a template filter whose text is in the reader's language. Jinja works out a
    filter of a constant when it compiles the template (`{{ 'held' | label }}`), once per
    process, in the language of whoever came first; a filter that takes the context it
    leaves to the render."""
    @pass_context
    @wraps(fn)
    def filter_(_context: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    return filter_


def iso(value: date | datetime) -> str:
    """`value.isoformat()` for a <time datetime=...>: a filter is a plain call, a method call
    in a template goes through Jinja's checks (several times the cost, once a row)."""
    return value.isoformat()


def grouped(value: int) -> str:
    """A count with thousands separators ("12,500"), as `"{:,}".format(value)`."""
    return f"{value:,}"


_urls: weakref.WeakKeyDictionary[Flask, dict[tuple, str]] = weakref.WeakKeyDictionary()


def template_url_for(endpoint: str, **values: Any) -> str:
    """The templates' url_for, remembered per app, endpoint, values and script root: the same
    links on every page (the navigation's dozen and more) cost several microseconds each.
    Relative links only: anything external, with an anchor or relative to the blueprint
    goes to url_for each time."""
    if endpoint[:1] == "." or any(name[:1] == "_" for name in values) or (
            not has_request_context()):
        return url_for(endpoint, **values)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    known = _urls.get(app)
    if known is None:
        known = _urls.setdefault(app, {})
    try:
        # each value's type in the key: True == 1 as keys, but url_for writes 'True' and '1'
        key = (request.script_root, endpoint,
               *((name, type(value), value) for name, value in values.items()))
        found = known.get(key)
    except TypeError:  # a value that cannot be a key (a list)
        return url_for(endpoint, **values)
    if found is None:
        if len(known) > _MEMO_SIZE:
            known.clear()
        found = known[key] = url_for(endpoint, **values)
    return found


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["grouped"] = grouped
    app.jinja_env.filters["localized"] = reader_filter(localized)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["skeleton"] = skeleton
    app.jinja_env.filters["dateformat"] = dateformat
    app.jinja_env.filters["label"] = reader_filter(label)
    app.jinja_env.filters["audit_label"] = reader_filter(audit_label)
    # flask_babel's own callables, with the translations looked up once per request
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: reader().translations.ugettext(s),  # type: ignore[union-attr]
        ngettext=lambda s, p, n: reader().translations.ungettext(s, p, n),  # type: ignore[union-attr]
        newstyle=True,
        pgettext=lambda c, s: reader().translations.upgettext(c, s),  # type: ignore[union-attr]
        npgettext=lambda c, s, p, n: reader().translations.unpgettext(c, s, p, n),  # type: ignore[union-attr]
    )
    # `_("...")` is on every line of every page: one call, not Jinja's three
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, id_url=id_url,
                                 url_for=template_url_for)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
            "htmx_src": "vendor/htmx-2.0.11.min.js",
        }
