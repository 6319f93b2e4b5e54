"""The reader of the current request: locale, zone and translations, looked up once per
request. flask_babel looks them up again for every string, label and date (its context, the
locale, the cache key, each through Flask's proxies), which on a list page cost more than
the translating and formatting themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g, has_app_context
from flask_babel import get_locale, get_timezone, get_translations


@dataclass
class Reader:
    locale: Any
    translations: Any
    locale_id: str
    zone_name: str
    # per-request lookups the template helpers keep (date formatters, process names)
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def is_zh(self) -> bool:
        return self.locale_id.startswith("zh")


def reader() -> Reader | None:
    """This request's reader; None outside an app context. A locale that changed since it
    was made (flask_babel's force_locale for a mail, refresh) gets a new one."""
    if not has_app_context():
        return None
    store = g._get_current_object().__dict__  # type: ignore[attr-defined]  # one proxy hop
    found = store.get("_yunzao_reader")
    if found is not None:
        # where flask_babel keeps the request's locale (its private namespace on g): when
        # that changes, so does the reader; if flask_babel moves it, every call takes the
        # slow path below, which is still right
        babel_ctx = store.get("_flask_babel")
        if getattr(babel_ctx, "babel_locale", None) is found.locale:
            return found
    locale = get_locale()
    found = store["_yunzao_reader"] = Reader(locale, get_translations(), str(locale or "zh"),
                                             str(get_timezone()))
    return found


def locale_id() -> str:
    """The reader's language tag ("zh", "en"); "zh" outside a request, as flask_babel's
    default."""
    found = reader()
    return found.locale_id if found is not None else str(get_locale() or "zh")
