"""Stateful fuzzing: sequences of API calls that follow the schema's links.

The schema's OpenAPI links (okrplan/lib/schema.py::postprocess_links) say which answer
names which object: the list of KRs → a KR → its plan → a save at the plan's version →
its history → a round → its notice … schemathesis's state machine walks them, each step
calling the next operation with the ids (and plan versions) the previous answers gave,
and generated values for the rest. Every answer must not be a 5xx and must match the
schema; a resource just created must be found, one just deleted must be gone.

Bounded: SCENARIOS sequences of at most STEPS calls, per caller. Maya (a member, the
lead of Marketing) walks the whole API; alice (an admin) walks it again, so that the
configuration writes maya is refused (members, departments, cycles, settings, rules)
are reached with real ids too. Every walk starts at GET /orgs/ (the one operation that
needs no id; schemathesis starts scenarios only at such operations and at POSTs it
trusts) and goes on into acme, the demo organization (tests/fuzzing.py). POST /orgs/ is
left to the stateless fuzzing (tests/test_api_fuzz.py): as a start it led most walks
into a new, empty organization.

Marked `pg`: it runs in both passes, since on PostgreSQL it found a 500 that SQLite
does not have (a NUL character in a username).
"""

import os
import time
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

pytestmark = pytest.mark.pg

# A longer hunt, by hand: FUZZ_SCENARIOS=500 FUZZ_SEED=7 .venv/bin/pytest <this file>
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "100"))
STEPS = 15
FIRST_SEED = int(os.environ.get("FUZZ_SEED", "0"))


def deleted_stays_deleted(ctx, response, case):
    """schemathesis's `use_after_free`, but for a KR's propagation rule: its DELETE removes
    the override and the GET shows the rule it now follows (`inherited: true`, API.md's
    per-KR override), which is not a deleted resource still served."""
    if case.operation.path.endswith("/propagation-rule/"):
        return None
    return use_after_free(ctx, response, case)


STATEFUL_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ensure_resource_availability,
    deleted_stays_deleted,
]


def _state_machine(demo, username: str, walked: "Walked"):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    schema = schema.exclude(operation_id="v1_orgs_create")
    schema.config.phases.stateful.inference.algorithms = []  # our links, nothing guessed
    schema.config.update(headers={"Authorization": f"Token {demo['tokens'][username]}"})
    objects = demo["path"]

    class Walk(schema.as_state_machine()):
        """Each scenario starts from the same demo data: its writes are rolled back after
        it (a savepoint), so one scenario's DELETE does not change what the next meets."""

        def setup(self):
            self._savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self._savepoint)
            walked.scenarios += 1
            super().teardown()

        def step(self, input):
            if input.transition is None:
                # a scenario starts at real objects of acme (as the stateless fuzzing does);
                # the links then lead to what the answers name
                for name in input.case.path_parameters or {}:
                    input.case.path_parameters[name] = objects[name]
            elif input.is_applied:
                walked.links[input.case.id] = input.transition.id
            return super().step(input)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            walked.calls[(case.operation.label, response.status_code // 100)] += 1
            link = walked.links.pop(case.id, None)
            if link and response.status_code < 400:
                walked.followed[link] += 1
            try:
                case.validate_response(
                    response,
                    checks=STATEFUL_CHECKS,
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            except Exception as error:  # kept here too: a replay that passes hides nothing
                walked.failures.append(f"{case.operation.label}: {str(error)[:3000]}")
                raise

    return Walk


@dataclass
class Walked:
    scenarios: int = 0
    calls: Counter = field(default_factory=Counter)  # (operation, status class) → calls
    followed: Counter = field(default_factory=Counter)  # link → steps along it not refused
    failures: list = field(default_factory=list)
    links: dict = field(default_factory=dict)  # case id → the link it follows


def _walk(demo, username: str) -> Walked:
    """SCENARIOS scenarios as `username`. Hypothesis replays a scenario's choices to explore
    around them; when the API's answers differ on the replay (the link values are chosen
    outside its control, as schemathesis's own runner does), it stops the suite with
    FlakyStrategyDefinition, and the walk goes on with a new seed, as schemathesis does."""
    walked = Walked()
    machine = _state_machine(demo, username, walked)
    for seed in range(FIRST_SEED, FIRST_SEED + SCENARIOS):
        left = SCENARIOS - walked.scenarios
        if left <= 0:
            break
        machine.rule_order_seed = seed  # each suite starts its scenarios elsewhere
        try:
            hypothesis.seed(seed)(machine).run(
                settings=settings(
                    max_examples=left,
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
            )
        except FlakyStrategyDefinition:
            continue
    return walked


@pytest.mark.parametrize("username", ["maya", "alice"])
def test_it_follows_the_links_without_a_server_error_or_a_schema_violation(demo, username):
    started = time.monotonic()
    walked = _walk(demo, username)
    ok = {label for (label, kind) in walked.calls if kind == 2}
    print(
        f"stateful as {username}: {walked.scenarios} scenarios, "
        f"{sum(walked.calls.values())} requests to {len({label for label, _ in walked.calls})} "
        f"operations ({len(ok)} answered 2xx), {sum(walked.followed.values())} steps along "
        f"{len(walked.followed)} links answered < 400, {time.monotonic() - started:.1f} s"
    )
    assert not walked.failures, "\n\n".join(walked.failures)
    assert len(walked.followed) >= 20, "the walk hardly followed a link: are the links right?"
