"""Template helpers: money and time formatting, localised names, navigation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_skeleton,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from flask import Flask, current_app, g
from flask_babel import format_datetime, get_locale, get_timezone, get_translations

from market.core.labels import audit_label, label
from market.core.money import format_money


def money(minor: int | None, currency: str = "CNY") -> str:
    return format_money(minor, currency)


def localized(obj: Any, attr: str = "name") -> str:
    """Pick `name_zh` or `name_en` (or `name`) by the current locale."""
    lang = str(get_locale() or "zh")
    if lang.startswith("zh"):
        value = getattr(obj, f"{attr}_zh", None)
        if value:
            return value
    return getattr(obj, f"{attr}_en", None) or getattr(obj, attr, "") or ""


def skeleton(value: date | datetime | None, pattern: str = "MMMd") -> str:
    """A date in the reader's locale from a CLDR skeleton ("MMMEd" -> "Mon, Dec 7" or
    "12月7日周一"), so field order follows the language."""
    if value is None:
        return "—"
    return format_skeleton(pattern, value, locale=str(get_locale() or "zh"))


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

    def format_(value: datetime) -> str:
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


@dataclass
class _Reader:
    """The reader's locale, zone and translations, looked up once per request: flask_babel
    looks them up again for every string and every date (its context, the locale, the cache
    key), which cost more than the translating and formatting themselves."""

    locale: Any
    translations: Any
    locale_id: str
    zone_name: str
    formatters: dict[str, Callable[[datetime], str]] = field(default_factory=dict)


def _reader() -> _Reader:
    locale = get_locale()
    found = g.get("_yunzao_reader")
    # a new locale object (flask_babel's force_locale, refresh) is a new reader
    if found is None or found.locale is not locale:
        found = g._yunzao_reader = _Reader(locale, get_translations(), str(locale or "zh"),
                                           str(get_timezone()))
    return found


def when(value: datetime | None, fmt: str = "minutes") -> str:
    """A moment in the reader's language and zone: the same text as flask_babel's
    `format_datetime(value, fmt)` (a naive value is UTC), at a fraction of the cost. The
    default, "minutes", is the medium style without seconds (no page needs them)."""
    if not value:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    reader = _reader()
    formatter = reader.formatters.get(fmt)
    if formatter is None:
        formatter = reader.formatters[fmt] = _datetime_formatter(fmt, reader.locale_id,
                                                                 reader.zone_name)
    return formatter(value)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["skeleton"] = skeleton
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["audit_label"] = audit_label
    # flask_babel's own callables, with the translations looked up once per request
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _reader().translations.ugettext(s),
        ngettext=lambda s, p, n: _reader().translations.ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _reader().translations.upgettext(c, s),
        npgettext=lambda c, s, p, n: _reader().translations.unpgettext(c, s, p, n),
    )

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
            "htmx_src": "vendor/htmx-2.0.11.min.js",
        }
