"""The OpenAPI 3.1 document, built from the route declarations and pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from market.core.api import OPERATIONS, Operation, bp
from market.core.schemas import ErrorOut

_ERRORS = {
    "400": "Malformed request",
    "401": "Missing, invalid or revoked token",
    "403": "Not allowed",
    "404": "Not found (also for another company's objects)",
    "409": "Conflict with the current state",
    "413": "The request body (an upload) is larger than the limit",
    "422": "Validation error: see error.fields",
    "429": "Too many requests",
    "503": "Busy, or the solver is unavailable for a moment: retry",
}


# Query parameters with a type of their own (the others are strings the route reads).
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
}


_WITH_BODY = ("POST", "PUT", "PATCH")


def _has_required(model: type[BaseModel]) -> bool:
    return any(f.is_required() for f in model.model_fields.values())


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _page_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    item = _schema(model, components)
    name = f"{model.__name__}Page"
    components[name] = {
        "title": name, "type": "object", "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": item},
                       "page": {"type": "integer", "minimum": 1},
                       "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
                       "total": {"type": "integer", "minimum": 0}},
    }
    return {"$ref": f"#/components/schemas/{name}"}


def _path(op: Operation) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)


def _operation_id(op: Operation) -> str:
    return f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', _path(op).lower())}"


# --- links: which operation's answer gives the id another operation's path takes ------------

_ID_AFTER = re.compile(r"/([\w-]+)/<(?:\w+:)?(\w+)>")
_ENDS_WITH_ID = re.compile(r"/<(?:\w+:)?(\w+)>$")


def _singular(segment: str) -> str:
    return segment[:-1] if segment.endswith("s") else segment


def _resources(operations: list[Operation]) -> tuple[dict[str, str], dict[Any, str]]:
    """Which path parameter names the objects of a collection ("order" -> "order_id": from
    `/orders/<int:order_id>`), and which response model shows such an object (the model of
    `GET /orders/<int:order_id>`)."""
    by_collection: dict[str, str] = {}
    by_model: dict[Any, str] = {}
    for op in operations:
        for segment, param in _ID_AFTER.findall(op.rule):
            by_collection.setdefault(_singular(segment), param)
        ends = _ENDS_WITH_ID.search(op.rule)
        if op.method == "GET" and op.response is not None and not op.paginated and ends:
            by_model.setdefault(op.response, ends.group(1))
    return by_collection, by_model


def _produced(op: Operation, by_collection: dict[str, str], by_model: dict[Any, str]
              ) -> str | None:
    """The path parameter whose value this operation's success answers as `id` (the object
    it creates, reads or lists), or None."""
    if op.response is None or "id" not in op.response.model_fields:
        return None
    param = by_model.get(op.response)
    if param is None:
        static = [s for s in op.rule.split("/") if s and not s.startswith("<")]
        param = by_collection.get(_singular(static[-1])) if static else None
    if param is None or param in _path_params(op):
        return None  # an operation on the object itself: its own id is no news
    return param


def _path_params(op: Operation) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", op.rule)


def links(operations: list[Operation]) -> dict[int, dict[str, Any]]:
    """OpenAPI links, derived from the route rules: an operation answering an object's `id`
    (`POST /orders`, or `items/0/id` of the list `GET /orders`) links to every operation
    whose path takes that object's id (`/orders/{order_id}...`). Keyed by the index of the
    source operation in `operations`."""
    by_collection, by_model = _resources(operations)
    # a model first met on a creating route shows that object everywhere (a DisputeOut is a
    # dispute's, also where rejecting a delivery answers one)
    for op in operations:
        param = _produced(op, by_collection, by_model)
        if param is not None and op.response is not None:
            by_model.setdefault(op.response, param)
    found: dict[int, dict[str, Any]] = {}
    for index, op in enumerate(operations):
        param = _produced(op, by_collection, by_model)
        if param is None:
            continue
        pointer = "/items/0/id" if op.paginated else "/id"
        found[index] = {
            _operation_id(target): {
                "operationId": _operation_id(target),
                "parameters": {f"path.{param}": f"$response.body#{pointer}"},
                "description": f"The {param} of the object this operation answers.",
            }
            for target in operations if target is not op and param in _path_params(target)}
    return found


def build() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _schema(ErrorOut, components)
    derived = links(OPERATIONS)
    for index, op in enumerate(OPERATIONS):
        path = _path(op)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in re.findall(r"{(\w+)}", path)
        ] + [
            {"name": name, "in": "query", "required": name in op.required_query,
             "description": text,
             "schema": _QUERY_SCHEMAS.get(name, {"type": "string"})}
            for name, text in op.query.items()
        ]
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": _operation_id(op),
            "parameters": params,
            "responses": {
                **{str(code): {
                    "description": "Success" if code == op.status else "Success (as well)",
                    "content": {"application/json": {"schema": (
                        _page_schema(op.response, components) if op.paginated
                        else _schema(op.response, components))}}
                    if op.response else {},
                } for code in (op.status, *op.also)},
                **{code: {"description": text,
                          "content": {"application/json": {"schema": error_ref}}}
                   for code, text in _ERRORS.items()
                   # a body over MAX_CONTENT_LENGTH: only where one is read
                   if code != "413" or op.method in _WITH_BODY},
            },
        }
        if index in derived:
            entry["responses"][str(op.status)]["links"] = derived[index]
        if op.body is not None:
            entry["requestBody"] = {
                # no body at all is the model's defaults (core.api.parse_body)
                "required": _has_required(op.body),
                "content": {"application/json": {"schema": _schema(op.body, components)}},
            }
        elif op.form is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": _schema(op.form, components)}},
            }
        if op.auth != "none":
            entry["security"] = [{"bearer": []}]
        paths.setdefault(f"/api/v1{path}", {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Yunzao API", "version": "1.0.0",
                 "description": "Cloud-manufacturing capacity marketplace. Money is integer "
                                "minor units with a currency; times are ISO 8601 with offset."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    return build()
