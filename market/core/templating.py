"""Template helpers: money and time formatting, localised names, navigation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import (
    format_skeleton,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from flask import Flask, current_app
from flask_babel import get_locale, get_timezone

from market.core.labels import label
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


@lru_cache(maxsize=64)
def _datetime_formatter(fmt: str, locale_id: str) -> Callable[[datetime], str]:
    """What `babel.dates.format_datetime(value, fmt, locale=...)` does to a value already in
    the reader's zone, with the locale's patterns looked up and parsed once: a list page
    formats a few hundred times per request, and the lookups were most of the cost."""
    locale = Locale.parse(locale_id)
    if fmt not in ("full", "long", "medium", "short"):
        pattern = parse_pattern(fmt)
        return lambda value: pattern.apply(value, locale)
    frame = get_datetime_format(fmt, locale=locale).replace("'", "")
    date_pattern = parse_pattern(get_date_format(fmt, locale=locale))
    time_pattern = parse_pattern(get_time_format(fmt, locale=locale))

    def format_(value: datetime) -> str:
        day = value.date()
        clock = time_pattern.apply(value.timetz(), locale, reference_date=day)
        return frame.replace("{0}", clock).replace("{1}", date_pattern.apply(day, locale))

    return format_


def when(value: datetime | None, fmt: str = "medium") -> str:
    """A moment in the reader's language and zone: the same text as flask_babel's
    `format_datetime(value, fmt)` (a naive value is UTC), at a fraction of the cost."""
    if not value:
        return "—"
    zone = get_timezone()
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    if hasattr(zone, "normalize"):  # pytz
        local = zone.normalize(local)
    return _datetime_formatter(fmt, str(get_locale() or "zh"))(local)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["skeleton"] = skeleton
    app.jinja_env.filters["label"] = label

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
            "htmx_src": "vendor/htmx-2.0.11.min.js",
        }
