"""Errors a service raises; views turn them into flash messages or API error bodies."""

from __future__ import annotations


def N_(text: str) -> str:
    """Mark a message for translation where it is written; it is translated where shown."""
    return text


class ServiceError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None,
                 params: dict[str, object] | None = None) -> None:
        # `message` is the msgid, with %(name)s placeholders filled from `params` after
        # translation (never an f-string: the catalogue could not hold it)
        self.template = message
        self.params = dict(params or {})
        # a parameter named like a status is a code ("in_progress"): words in English here,
        # the reader's label where shown (`localized`)
        english = {k: (v.replace("_", " ") if k.endswith("status") and isinstance(v, str)
                       else ", ".join(x.replace("_", " ") for x in v)
                       if k.endswith("kinds") and isinstance(v, list | tuple) else v)
                   for k, v in self.params.items()}
        self.message = message % english if self.params else message
        super().__init__(self.message)
        self.fields = fields or {}

    @property
    def localized(self) -> str:
        """The message in the reader's language (views only: needs a request context)."""
        from flask_babel import gettext

        if not self.params:
            return gettext(self.template)
        from market.core.labels import label

        # codes named *status, or lists of them named *kinds, read as the reader's words
        words = {k: (label(v) if k.endswith("status") and isinstance(v, str)
                     else ", ".join(label(x) for x in v)
                     if k.endswith("kinds") and isinstance(v, list | tuple) else v)
                 for k, v in self.params.items()}
        return gettext(self.template, **words)

    @property
    def localized_fields(self) -> dict[str, str]:
        from flask_babel import gettext

        return {name: (gettext(text.msgid, **text.params) if isinstance(text, FieldMessage)
                       else gettext(text)) for name, text in self.fields.items()}


class ValidationError(ServiceError):
    code = "validation_error"
    status = 422


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class PermissionDenied(ServiceError):
    code = "forbidden"
    status = 403


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class Unavailable(ServiceError):
    """A part of the platform cannot answer right now; a retry may succeed."""

    code = "unavailable"
    status = 503


class RateLimited(ServiceError):
    """Too many of something that costs the platform money or capacity, for now."""

    code = "rate_limited"
    status = 429


class AuthenticationFailed(ServiceError):
    code = "unauthorized"
    status = 401


class FieldMessage(str):
    """A field's message with values ("Must be between 0 and 20."): a str (English, as the
    API answers), that keeps its msgid and values so a page shows it in the reader's
    language (`ServiceError.localized_fields`). Extracted like N_ (Makefile keywords)."""

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> FieldMessage:
        made = super().__new__(cls, msgid % params if params else msgid)
        made.msgid, made.params = msgid, params
        return made

