"""Fuzzing the API from its own OpenAPI schema (schemathesis).

The schema is loaded from `/api/schema/` of the WSGI application, in a database holding
the demo organization (okrplan/demo.py: SPEC.md §8's cast and shared KRs, locked), and
every operation is called with generated input, as maya (a member: Marketing's lead),
with her token. Path parameters name real objects of acme, so the generated bodies and
query strings reach the code behind the 404. Then the admin's configuration writes, which
maya is refused before her body is read, as alice (an admin). Each answer must not be a
5xx, its status must be one the schema documents, in the documented content type, and
conform to the schema.

Bounded and derandomized (the same examples on every run): 5 valid (positive) cases per
operation, and 5 invalid (negative) ones for each operation with a body or query string
to make invalid. About a minute; the first (SQLite) pass only. The demo data:
tests/fuzzing.py; the walk along the schema's links: tests/test_api_stateful_fuzz.py.
"""

import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,  # every status answered is documented (issue 13 item 9)
    content_type_conformance,
    response_schema_conformance,
]

pytestmark = pytest.mark.once


def _operations(schema) -> list:
    """Every operation of the schema, the DELETEs last (they take away what others use)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.label))


def _fuzz(strategy, headers: dict) -> int:
    """Call the operation with each generated case and check the answer; how many calls."""
    calls = []

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES // 2,  # positive and negative: MAX_EXAMPLES per operation
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        calls.append(case)
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
    return len(calls)


def _fuzz_operations(demo, username: str, chosen=lambda operation: True) -> tuple[int, int]:
    """Fuzz the chosen operations as `username`; (operations, requests), or fail listing
    every operation that failed."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    headers = {"Authorization": f"Token {demo['tokens'][username]}"}
    operations = [op for op in _operations(schema) if chosen(op)]
    failures, examples = {}, 0

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {name: demo["path"][name] for name in names if name in demo["path"]}
        assert fixed.keys() == names, f"no object for the path of {operation.label}"
        # negative cases need something to make invalid: a body or a query string
        negatable = len(operation.query) > 0 or len(operation.body) > 0
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            try:
                examples += _fuzz(strategy, headers)
            except Exception as error:  # gather them all, then fail once
                failures[f"{operation.label} ({mode.value})"] = str(error)[:3000]

    print(f"fuzzed {len(operations)} operations as {username} with {examples} requests")
    assert not failures, "\n\n".join(f"== {label}\n{error}" for label, error in failures.items())
    return len(operations), examples


def test_it_answers_every_generated_request_without_a_server_error(demo):
    operations, _ = _fuzz_operations(demo, "maya")
    assert operations > 50, "the schema describes too few operations"


ADMIN_WRITES = re.compile(
    r"/(settings|members|invitations|departments|cycles|propagation-rules?|webhooks)/"
)


def test_it_answers_an_admins_configuration_changes_without_a_server_error(demo):
    """What maya is refused (403 before the body is read), an admin's bodies reach."""
    operations, _ = _fuzz_operations(
        demo,
        "alice",
        lambda op: op.method.upper() != "GET" and ADMIN_WRITES.search(op.path) is not None,
    )
    assert operations >= 10


PARENT_OWNER_ACTIONS = re.compile(r"/(lock|notice|close)/$")


def test_it_answers_the_parent_owners_actions_without_a_server_error(demo):
    """Lock, impact notice, close: the parent owner's, refused to maya."""
    demo["path"]["kr_id"] = demo["parent_id"]  # lock the shared KR itself
    operations, _ = _fuzz_operations(
        demo, demo["parent_owner"], lambda op: PARENT_OWNER_ACTIONS.search(op.path) is not None
    )
    assert operations == 3
