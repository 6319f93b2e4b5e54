"""Template helpers: money and time formatting, localised names, navigation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton
from flask import Flask, current_app
from flask_babel import format_datetime, get_locale

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


def when(value: datetime | None, fmt: str = "medium") -> str:
    return format_datetime(value, fmt) if value else "—"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["skeleton"] = skeleton
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["audit_label"] = audit_label

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
            "htmx_src": "vendor/htmx-2.0.11.min.js",
        }
