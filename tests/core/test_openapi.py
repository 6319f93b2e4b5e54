"""The OpenAPI document's links (derived from the route rules, for stateful testing and for
integrators): each points at an operation that exists, fills a path parameter it has, with
a value the source's documented answer holds."""

from __future__ import annotations

import re
from typing import Any

EXPRESSION = re.compile(r"^\$response\.body#(/[\w/]+)$")


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _at(doc: dict[str, Any], schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema of the value at a JSON pointer of a body the schema describes."""
    for part in pointer.strip("/").split("/"):
        schema = _resolve(doc, schema)
        if part.isdigit():
            assert schema.get("type") == "array", (pointer, schema)
            schema = schema["items"]
        else:
            assert part in schema.get("properties", {}), (pointer, part, schema.get("title"))
            schema = schema["properties"][part]
    return _resolve(doc, schema)


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {entry["operationId"]: (path, method, entry)
            for path, methods in doc["paths"].items() for method, entry in methods.items()}


def test_every_link_points_at_a_real_operation_and_parameter(client):
    doc = client.get("/api/v1/openapi.json").json
    operations = _operations(doc)
    assert len(operations) == sum(len(m) for m in doc["paths"].values())  # ids are unique
    linked: set[tuple[str, str]] = set()
    count = 0
    for source_id, (path, _method, entry) in operations.items():
        for status, response in entry["responses"].items():
            for name, link in response.get("links", {}).items():
                count += 1
                assert status.startswith("2"), (source_id, status)
                assert link["operationId"] in operations, (source_id, name)
                target_path, _, target = operations[link["operationId"]]
                path_params = {p["name"] for p in target["parameters"] if p["in"] == "path"}
                for key, expression in link["parameters"].items():
                    location, _, param = key.partition(".")
                    assert location == "path" and param in path_params, (source_id, name, key)
                    assert "{" + param + "}" not in path, (source_id, key)  # no self-links
                    pointer = EXPRESSION.match(expression)
                    assert pointer, expression
                    body = response["content"]["application/json"]["schema"]
                    assert _at(doc, body, pointer.group(1)).get("type") == "integer", (
                        source_id, expression)
                    linked.add((link["operationId"], param))
    assert count > 80
    # every id a path takes is reached by a link, but a refund's: no route lists refunds
    # (an operator finds them on the pages' bank-transfer list)
    unlinked = {(op_id, p["name"]) for op_id, (_, _, entry) in operations.items()
                for p in entry["parameters"] if p["in"] == "path"} - linked
    assert {param for _, param in unlinked} == {"refund_id"}, sorted(unlinked)


def test_creating_and_listing_link_to_the_object_s_operations(client):
    doc = client.get("/api/v1/openapi.json").json
    paths = doc["paths"]

    def op_id(method: str, path: str) -> str:
        return paths["/api/v1" + path][method]["operationId"]

    create = paths["/api/v1/orders"]["post"]["responses"]["201"]["links"]
    assert create[op_id("get", "/orders/{order_id}")]["parameters"] == {
        "path.order_id": "$response.body#/id"}
    assert op_id("post", "/orders/{order_id}/submit") in create
    listing = paths["/api/v1/orders"]["get"]["responses"]["200"]["links"]
    assert listing[op_id("post", "/orders/{order_id}/cancel")]["parameters"] == {
        "path.order_id": "$response.body#/items/0/id"}
    # a response model first met where it is created names its object elsewhere too
    rejected = paths["/api/v1/orders/{order_id}/reject-delivery"]["post"]["responses"]["201"]
    assert set(rejected["links"]) == {op_id("post", "/disputes/{dispute_id}/resolve")}
    # an operation on an object answers it again: no link back to itself
    assert "links" not in paths["/api/v1/orders/{order_id}"]["get"]["responses"]["200"]
