"""The JSON API's plumbing: one decorator declares a route, its body schema, who may call
it and what it answers; the same declaration feeds the OpenAPI document."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from market.core.errors import AuthenticationFailed, PermissionDenied, ServiceError
from market.core.extensions import db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error_body(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_body(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    db.session.rollback()
    return error_body(exc.status, exc.code, exc.message, exc.fields)


@dataclass
class Operation:
    method: str
    rule: str
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: str  # "none" | "user" | "operator"
    tag: str
    query: dict[str, str] = field(default_factory=dict)
    paginated: bool = False  # the body is {items: [response], page, per_page, total}
    form: type[BaseModel] | None = None  # a multipart/form-data body the view reads itself
    also: tuple[int, ...] = ()  # other success statuses the view returns, same body
    required_query: tuple[str, ...] = ()  # query parameters the view refuses to go without


OPERATIONS: list[Operation] = []


# Who a bearer token belongs to: set by the accounts domain (core knows no users).
_token_loader: Callable[[Any, str], Any] | None = None


def set_token_loader(loader: Callable[[Any, str], Any]) -> None:
    """`loader(session, raw_token)` returns the user or raises AuthenticationFailed."""
    global _token_loader
    _token_loader = loader


def current_api_user() -> Any:
    """The user of the request's bearer token (an accounts User)."""
    return g.api_user


def _authenticate(required: str) -> None:
    header = request.headers.get("Authorization", "")
    if not header:
        if required == "none":
            return
        raise ApiError(401, "unauthorized", "Send a bearer token: Authorization: Bearer <token>.")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(401, "unauthorized", "Use the Bearer scheme: Authorization: Bearer <token>.")
    try:
        assert _token_loader is not None, "accounts.init_app sets the token loader"
        user = _token_loader(db.session, raw.strip())
    except AuthenticationFailed as exc:
        raise ApiError(401, "unauthorized", exc.message) from None
    g.api_user = user
    # End the token lookup's read transaction: the view may wait for the writers' lock, and
    # must not hold a pooled connection (or, on PostgreSQL, an open transaction) meanwhile.
    db.session.commit()
    if required == "operator" and not user.is_operator:
        raise PermissionDenied("Only platform operators may do this.")


def _fields_from(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "body"
        message = err["msg"]
        # pydantic prefixes custom messages with "Value error, "; people need only the rest.
        message = re.sub(r"^Value error, ", "", message)
        fields.setdefault(loc, message)
    return fields


NUL = "\x00"
NUL_MESSAGE = "Remove the NUL character (\\u0000): text cannot hold it."


def _nul_fields(value: Any, where: str = "") -> dict[str, str]:
    """Where a JSON value holds the NUL character, in a key or a string (PostgreSQL stores
    neither in text nor in json: it would be a 500 deep inside a service)."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        if NUL in value:
            found[where or "body"] = NUL_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                found[path.replace(NUL, "\\u0000")] = NUL_MESSAGE
            else:
                found.update(_nul_fields(item, path))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_nul_fields(item, f"{where}.{index}" if where else str(index)))
    return found


def _refuse_nul(fields: dict[str, str]) -> None:
    if fields:
        raise ApiError(422, "validation_error", "Please correct the listed fields.", fields)


def nul_in_request(form: bool) -> list[str]:
    """The query parameters (`query.<name>`) and, with `form`, the form fields whose name or
    text holds the NUL character (file names are cleaned where stored: sanitise_name). Pages
    check the form before the view (the CSRF check parses it anyway); API uploads once the
    rate limit and the object allow (`refuse_nul_in_form`): a stranger's is never parsed."""
    pairs = [(f"query.{name}", f"{name}{value}")
             for name, value in request.args.items(multi=True)]
    if form and request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # a body over the limit: the view answers its 413; a part may have no name (None)
        with contextlib.suppress(RequestEntityTooLarge):
            pairs += [(str(name), f"{name}{value}")
                      for name, value in request.form.items(multi=True)]
    return [label.replace(NUL, "\\u0000") for label, text in pairs if NUL in text]


def refuse_nul_in_form() -> None:
    """422 when an API upload's form holds the NUL character (see `nul_in_request`)."""
    _refuse_nul(dict.fromkeys(nul_in_request(form=True), NUL_MESSAGE))


def parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.get_data(cache=True):
        data: Any = {}  # no body at all: the model's defaults, or "field required" messages
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            raise ApiError(
                422, "validation_error", "Please correct the listed fields.", _fields_from(exc)
            ) from None
    if not request.is_json:
        raise ApiError(400, "bad_request", "Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "bad_request", "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The JSON body must be an object.")
    _refuse_nul(_nul_fields(data))
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ApiError(
            422, "validation_error", "Please correct the listed fields.", _fields_from(exc)
        ) from None


def route(
    method: str,
    rule: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: str = "user",
    tag: str = "general",
    query: dict[str, str] | None = None,
    limit: Callable[[], str] | str | None = None,
    paginated: bool = False,
    form: type[BaseModel] | None = None,
    also: tuple[int, ...] = (),
    required_query: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API route. The view returns objects (ORM rows, dicts, pydantic models);
    the body is always `response` validated from them, so the OpenAPI document shows exactly
    what is sent. `paginated`: the view returns a `Page`, or a whole list that is paged here
    (`?page=&per_page=`), and the body is `{items, page, per_page, total}`. `form`: the
    fields of a multipart/form-data upload (files as `bytes`), for the document only: the
    view and its service read and check them. `also`: the other success statuses a view
    returning `(body, status)` gives (200 for an idempotent repeat of a 201, say).
    `required_query`: the names in `query` the view refuses (422) to go without."""
    if paginated:
        query = {**(query or {}), "page": "page number, from 1", "per_page": "1 to 200"}

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            _authenticate(auth)
            _refuse_nul(dict.fromkeys(nul_in_request(form=False), NUL_MESSAGE))
            if body is not None:
                kwargs["data"] = parse_body(body)
            result = fn(**kwargs)
            code = status
            if isinstance(result, tuple):  # (body, status) where the view decides the status
                result, code = result
            if response is not None and not isinstance(result, Response):
                result = (_page_body(response, result) if paginated
                          else _dump(response, result))
            elif isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            if isinstance(result, dict | list):
                response_obj = jsonify(result)
                response_obj.status_code = code
                return response_obj
            return result

        OPERATIONS.append(
            Operation(method, rule, summary, body, response, status, auth, tag, query or {},
                      paginated, form, also, required_query)
        )
        # The rate limit wraps everything, so malformed bodies count against it too.
        view = limiter.limit(limit)(wrapper) if limit is not None else wrapper
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return decorator


MAX_PAGE, MAX_PER_PAGE = 1_000_000, 200


def pagination() -> tuple[int, int]:
    """`?page=` (1 to MAX_PAGE) and `?per_page=` (1 to 200; default 50), as documented."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError:
        raise ApiError(
            400, "bad_request", "page and per_page must be whole numbers."
        ) from None
    if not (1 <= page <= MAX_PAGE and 1 <= per_page <= MAX_PER_PAGE):
        raise ApiError(422, "validation_error", "page is 1 to 1,000,000 and per_page 1 to 200.",
                       {"page" if not 1 <= page <= MAX_PAGE else "per_page": "Out of range."})
    return page, per_page


@dataclass
class Page:
    """One page of a list the view paged itself (in the database)."""

    items: list[Any]
    page: int
    per_page: int
    total: int


def _dump(model: type[BaseModel], value: Any) -> Any:
    if isinstance(value, model):
        return value.model_dump(mode="json")
    return model.model_validate(value, from_attributes=True).model_dump(mode="json")


def _page_body(model: type[BaseModel], result: Page | list[Any]) -> dict[str, Any]:
    if not isinstance(result, Page):
        page, per_page = pagination()
        whole = list(result)
        result = Page(whole[(page - 1) * per_page:page * per_page], page, per_page, len(whole))
    return {"items": [_dump(model, item) for item in result.items], "page": result.page,
            "per_page": result.per_page, "total": result.total}
