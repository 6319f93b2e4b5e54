"""The OpenAPI 3.1 document, built from the route declarations and pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from market.core.api import OPERATIONS, bp
from market.core.schemas import ErrorOut

_ERRORS = {
    "400": "Malformed request",
    "401": "Missing, invalid or revoked token",
    "403": "Not allowed",
    "404": "Not found (also for another company's objects)",
    "409": "Conflict with the current state",
    "422": "Validation error: see error.fields",
    "429": "Too many requests",
    "503": "Busy, or the solver is unavailable for a moment: retry",
}


# Query parameters with a type of their own (the others are strings the route reads).
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
}


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


def build() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _schema(ErrorOut, components)
    for op in OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in re.findall(r"{(\w+)}", path)
        ] + [
            {"name": name, "in": "query", "required": False, "description": text,
             "schema": _QUERY_SCHEMAS.get(name, {"type": "string"})}
            for name, text in op.query.items()
        ]
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower())}",
            "parameters": params,
            "responses": {
                str(op.status): {
                    "description": "Success",
                    "content": {"application/json": {"schema": (
                        _page_schema(op.response, components) if op.paginated
                        else _schema(op.response, components))}}
                    if op.response else {},
                },
                **{code: {"description": text,
                          "content": {"application/json": {"schema": error_ref}}}
                   for code, text in _ERRORS.items()},
            },
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(op.body, components)}},
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
