"""schemathesis against our own OpenAPI document, with the tokens of the three roles on one
marketplace (a short, repeatable profile; `make test` and CI run it).

Checked here: no server error, responses whose bodies, content types and status codes are
what the document says (every operation documents the error statuses services give: 400,
401, 403, 404, 409, 422, 429, 503). Not yet: that every request the document allows is
accepted (the document does not yet state every rule the services enforce; about 20
operations, listed in the session note of issue "Locked doors")."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import api_token
from tests.fakes.orders import seed_capacity

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          status_code_conformance]
EXAMPLES = 10  # per operation and role: about 1,600 cases, well under a minute


@pytest.mark.slow
def test_the_api_never_fails_and_answers_as_documented(app, client, session, taxonomy,
                                                       buyer, factory, operator):
    seed_capacity(session, factory.company_id, days=2)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    roles = {"buyer": api_token(client, buyer), "factory": api_token(client, factory),
             "operator": api_token(client, operator)}
    failures: dict[tuple[str, str], str] = {}
    cases = [0]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        for role, headers in roles.items():
            _fuzz(operation, role, headers, failures, cases)()
    print(f"schemathesis: {cases[0]} cases over {len(operations)} operations x {len(roles)} "
          "roles")
    assert cases[0] > 1000
    assert not failures, failures


def _fuzz(operation, role: str, headers: dict, failures: dict, cases: list[int]):  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        cases[0] += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except BaseException as exc:  # noqa: BLE001 - schemathesis groups its failures
            found = getattr(exc, "exceptions", [exc])
            failures[(operation.label, role)] = "; ".join(
                str(e).strip().splitlines()[0] for e in found)[:300]

    return run
