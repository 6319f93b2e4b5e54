"""Page helpers shared by every domain's views: error pages that fit the site (JSON under
/api/), role decorators, and the two ways a view handles a service error without a try
block of its own:

- `@on_service_error(respond)`: the view just calls the service; on a ServiceError the
  transaction is rolled back, a NotFound becomes the 404 page, anything else is flashed in
  the reader's language and `respond(exc)` answers (re-render the form with
  `exc.localized_fields`), or, given an endpoint name, a redirect to it with the view's
  own URL arguments; with neither, back to where the form was.
- `attempt(fn, ...)`: for views that show the outcome in place (htmx fragments): the
  service's result or its error, already rolled back, with the message to show.

A ServiceError that escapes both is still a flash and a redirect back (or an error page
with its status): never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.exceptions import NotFound as HttpNotFound

from market.core.api import error_body, nul_in_request
from market.core.errors import NotFound, ServiceError
from market.core.extensions import db

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "validation_error",
    429: "rate_limited", 500: "server_error", 503: "unavailable",
}


def local_zone() -> ZoneInfo:
    """The zone in which people type dates on forms (BABEL_DEFAULT_TIMEZONE)."""
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def actor() -> Any:
    """The signed-in user as a plain object (services take users, not proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def role_required(allowed: Callable[[Any], bool]) -> Callable[[Callable[..., Any]], Any]:
    """A view decorator: sign-in required, then 403 unless `allowed(user)`."""
    def decorator(view: Callable[..., Any]) -> Any:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _path_exists(exc: MethodNotAllowed) -> bool:
    """Whether some route takes this path with another method. werkzeug answers 405 when an
    id beyond the id columns fails its converter on the path's rule for this method while a
    rule of the same shape has other methods (`PUT /api/v1/orders/99999999999`, found by
    fuzzing): that path names nothing, a 404 like any unknown id."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
        except (HttpNotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect (a missing slash): the path exists
            return True
        return True
    return False


def _is_factory(user: Any) -> bool:
    return user.company is not None and user.company.is_factory


operator_required = role_required(lambda user: user.is_operator)
factory_required = role_required(_is_factory)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please try again.")),
        401: (_("Sign in required"), _("Please sign in to continue.")),
        403: (_("Not allowed"), _("You do not have permission to do this.")),
        404: (_("Page not found"), _("The page does not exist, or you cannot see it.")),
        405: (_("Method not allowed"), _("This address does not accept that kind of request.")),
        413: (_("File too large"), _("The upload is larger than the allowed size.")),
        429: (_("Too many attempts"), _("Please wait a minute before trying again.")),
        503: (_("Busy"), _("The marketplace is busy right now. Nothing was saved; please try "
                           "again in a moment.")),
        500: (_("Something went wrong"),
              _("We could not complete your request. Nothing was saved; please try again.")),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, detail: str | None = None):
    title, text = _messages().get(status, (_("Error"), _("Something went wrong.")))
    if _wants_json():
        return error_body(status, _CODES.get(status, "error"), detail or text)
    return render_template("errors/error.html", status=status, title=title,
                           text=detail or text), status


def error_message(exc: ServiceError) -> str:
    """The error in the reader's language, with its field messages after it."""
    fields = exc.localized_fields
    return exc.localized + (" " + " ".join(fields.values()) if fields else "")


def _back() -> Any:
    target = request.referrer
    # only our own pages: a foreign Referer must not turn into an open redirect
    if not target or not target.startswith(request.host_url):
        target = url_for("main.index")
    return redirect(target)


def on_service_error(respond: Callable[[ServiceError], Any] | str | None = None
                     ) -> Callable[[Callable[..., Any]], Any]:
    """A view decorator: see the module's docstring."""
    def decorator(view: Callable[..., Any]) -> Any:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except ServiceError as exc:
                db.session.rollback()
                if isinstance(exc, NotFound):
                    abort(404)
                flash(error_message(exc), "error")
                if callable(respond):
                    return respond(exc)
                if respond:
                    return redirect(url_for(respond, **(request.view_args or {})))
                return _back()
        return wrapped
    return decorator


@dataclass
class Attempt:
    """What `attempt` returns: the service's value, or the error (rolled back)."""

    value: Any = None
    error: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return error_message(self.error) if self.error is not None else ""

    @property
    def status(self) -> int:
        return self.error.status if self.error is not None else 200


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Attempt:
    """Call a service; a ServiceError is rolled back and returned, NotFound is the 404 page."""
    try:
        return Attempt(value=fn(*args, **kwargs))
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound):
            abort(404)
        return Attempt(error=exc)


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> Any:
        # PostgreSQL stores no NUL in text: a form or query holding one is refused here, not
        # a 500 deep in a service (the API answers its own 422 with the fields)
        if not _wants_json() and nul_in_request(form=True):
            return render_error(400)
        return None

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        # the API blueprint answers its own; a page's unhandled service error goes back
        db.session.rollback()
        if isinstance(exc, NotFound):
            return render_error(404)
        if _wants_json():
            return error_body(exc.status, exc.code, exc.message, exc.fields)
        if request.method == "GET":
            return render_error(exc.status, error_message(exc))
        flash(error_message(exc), "error")
        return _back()

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return render_error(400, _("The form expired or was sent from elsewhere. "
                                   "Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if isinstance(exc, MethodNotAllowed) and not _path_exists(exc):
            exc = HttpNotFound()
        status = exc.code or 500
        detail = None
        if _wants_json() and exc.description and status not in (500,):
            detail = exc.description
        if status == 429:
            detail = None
        return render_error(status, detail)

    @app.errorhandler(PoolTimeout)
    def _busy(exc: PoolTimeout):
        # every database connection is taken (a burst of requests): a retry will do
        log.warning("database pool exhausted on %s %s", request.method, request.path)
        db.session.rollback()
        response = make_response(render_error(503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the page must render even with a broken database
            log.exception("rollback failed")
        return render_error(500)

    # Keep the handler for InternalServerError so Flask's own 500 path uses our page too.
    app.register_error_handler(InternalServerError, _http)
