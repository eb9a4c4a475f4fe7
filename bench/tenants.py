"""Many tenants: organizations generated in bulk, each the shape of a real one.

Every organization gets six people (an admin, four department leads, a viewer), four
departments, one weekly cycle of 13 periods (a quarter), three objectives and 15 shared
key results of 3 to 6 children each, the children spread over the four departments
(additive, so each parent's effective plan is the sum of its children's). Each plan has
13 values; each child's plan has two revisions and check-ins for the first six periods
(a quarter half-way through); each person has eight notifications, half of them read;
each organization has ten open review steps. Everything is written with `bulk_create`,
a few thousand rows a statement, and the stored aggregates are right by construction
(`recompute --verify` agrees, see `bench/http_load.py`).

`tenants_build(prefix, count)` writes `count` such organizations; `bench_tenant()` writes
the one whose requests the HTTP benchmark measures: the same shape plus one more shared
KR of 20 children (the combined view measured, and the children the plan saves change),
a password (for the session login) and an API token for its admin.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from bench.data import CYCLE_END, CYCLE_START, PERIODS
from hierarchy.models import (
    Cycle,
    Department,
    KeyResult,
    Membership,
    Objective,
    Organization,
    Role,
)
from hierarchy.periods import alignment_meeting_default, midcycle_check_default
from notifications.models import Notification, Step
from plans.models import CheckIn, Plan, PlanRevision, Shape

User = get_user_model()

SHARED_KRS = 15
DEPARTMENTS = ("Sales", "Marketing", "Product", "Support")
CHECKED_IN = 6  # periods with a check-in
NOTIFICATIONS_PER_USER = 8
STEPS_PER_ORG = 10
BATCH = 5000
BENCH_SLUG = "bench-http"
BENCH_PASSWORD = "bench-http-password-not-secret"
BENCH_CHILDREN = 20


@dataclass(frozen=True)
class BenchTenant:
    """What the load generator needs to know of the measured organization."""

    slug: str
    username: str
    password: str
    token: str
    shared_kr: int  # the shared KR of `BENCH_CHILDREN` children
    children: list[int]  # its children, in id order
    values: dict[int, list[int]]  # each child's plan values
    versions: dict[int, int]  # each child's plan version


def _values(seed: int) -> list[int]:
    return [10 + (seed + i) % 7 for i in range(PERIODS)]


def _json(values: list[int]) -> list[str]:
    return [str(v) for v in values]


def tenants_build(*, prefix: str, count: int, extra_children: int = 0) -> list[Organization]:
    """`count` organizations `{prefix}-0000` … in bulk; with `extra_children`, one more
    shared KR of that many children in each (the benchmark's own tenant)."""
    now = timezone.now()
    with transaction.atomic():
        orgs = Organization.objects.bulk_create(
            [
                Organization(name=f"Tenant {prefix} {i}", slug=f"{prefix}-{i:04d}")
                for i in range(count)
            ]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"{org.slug}-u{j}", email=f"u{j}@{org.slug}.test", password="!")
                for org in orgs
                for j in range(6)
            ],
            batch_size=BATCH,
        )
        people = {org.pk: users[6 * i : 6 * i + 6] for i, org in enumerate(orgs)}
        roles = [Role.ADMIN, Role.MEMBER, Role.MEMBER, Role.MEMBER, Role.MEMBER, Role.VIEWER]
        Membership.objects.bulk_create(
            [
                Membership(organization=org, user=user, role=roles[j])
                for org in orgs
                for j, user in enumerate(people[org.pk])
            ],
            batch_size=BATCH,
        )
        departments = Department.objects.bulk_create(
            [
                Department(organization=org, name=name, lead=people[org.pk][1 + j])
                for org in orgs
                for j, name in enumerate(DEPARTMENTS)
            ],
            batch_size=BATCH,
        )
        depts = {org.pk: departments[4 * i : 4 * i + 4] for i, org in enumerate(orgs)}
        cycles = Cycle.objects.bulk_create(
            [
                Cycle(
                    organization=org,
                    name="Q1 2026",
                    start=CYCLE_START,
                    end=CYCLE_END,
                    granularity="week",
                    alignment_meeting=alignment_meeting_default(CYCLE_START),
                    midcycle_check=midcycle_check_default(CYCLE_START),
                )
                for org in orgs
            ]
        )
        objectives = Objective.objects.bulk_create(
            [
                Objective(
                    organization=org, cycle=cycle, title=f"Objective {k}", owner=people[org.pk][0]
                )
                for org, cycle in zip(orgs, cycles, strict=True)
                for k in range(3)
            ],
            batch_size=BATCH,
        )

        # Shared KRs first (their ids make the children's paths), then the children.
        parents, shapes = [], []
        for i, (org, cycle) in enumerate(zip(orgs, cycles, strict=True)):
            sizes = [3 + (i + k) % 4 for k in range(SHARED_KRS)]
            if extra_children:
                sizes.append(extra_children)
            for k, size in enumerate(sizes):
                seeds = [i * 100 + k * 10 + c for c in range(size)]
                total = sum(sum(_values(seed)) for seed in seeds)
                parents.append(
                    KeyResult(
                        organization=org,
                        objective=objectives[3 * i + k % 3],
                        cycle=cycle,
                        title=f"Shared KR {k}",
                        owner=people[org.pk][0],
                        department=depts[org.pk][0],
                        unit="leads",
                        metric_kind="cumulative",
                        target=Decimal(total),
                        cross_functional=True,
                    )
                )
                shapes.append(seeds)
        KeyResult.objects.bulk_create(parents, batch_size=BATCH)
        children, child_seeds = [], []
        for parent, seeds in zip(parents, shapes, strict=True):
            org_depts = depts[parent.organization_id]
            org_people = people[parent.organization_id]
            for c, seed in enumerate(seeds):
                children.append(
                    KeyResult(
                        organization_id=parent.organization_id,
                        objective_id=parent.objective_id,
                        cycle_id=parent.cycle_id,
                        title=f"{parent.title}, part {c}",
                        owner=org_people[1 + c % 4],
                        department=org_depts[c % 4],
                        unit="leads",
                        metric_kind="cumulative",
                        target=Decimal(sum(_values(seed))),
                        parent=parent,
                        path=f"{parent.pk}/",
                    )
                )
                child_seeds.append(seed)
        KeyResult.objects.bulk_create(children, batch_size=BATCH)

        plans = []
        for parent, seeds in zip(parents, shapes, strict=True):
            sums = [sum(_values(seed)[p] for seed in seeds) for p in range(PERIODS)]
            plans.append(
                Plan(
                    organization_id=parent.organization_id,
                    kr=parent,
                    values_json=_json(sums),
                    effective_json=_json(sums),
                    shape=Shape.CUSTOM,
                )
            )
        for child, seed in zip(children, child_seeds, strict=True):
            values = _json(_values(seed))
            plans.append(
                Plan(
                    organization_id=child.organization_id,
                    kr=child,
                    values_json=values,
                    effective_json=values,
                    shape=Shape.CUSTOM,
                    version=3,
                )
            )
        Plan.objects.bulk_create(plans, batch_size=BATCH)
        child_plans = plans[len(parents) :]

        revisions, checkins = [], []
        for child, plan, seed in zip(children, child_plans, child_seeds, strict=True):
            values = _values(seed)
            first = [v - 1 for v in values]
            for version, before, after in ((2, [0] * PERIODS, first), (3, first, values)):
                revisions.append(
                    PlanRevision(
                        organization_id=child.organization_id,
                        plan=plan,
                        kr=child,
                        version=version,
                        before_values=_json(before),
                        after_values=_json(after),
                        before_target=Decimal(sum(before)),
                        after_target=Decimal(sum(after)),
                        shape=Shape.CUSTOM,
                        cause="edit",
                        actor_id=child.owner_id,
                    )
                )
            for period in range(CHECKED_IN):
                checkins.append(
                    CheckIn(
                        organization_id=child.organization_id,
                        kr=child,
                        period=period,
                        value=Decimal(values[period]),
                        author_id=child.owner_id,
                    )
                )
        PlanRevision.objects.bulk_create(revisions, batch_size=BATCH)
        CheckIn.objects.bulk_create(checkins, batch_size=BATCH)

        by_org: dict[int, list[KeyResult]] = {}
        for child in children:
            by_org.setdefault(child.organization_id, []).append(child)
        notifications, steps = [], []
        for org in orgs:
            krs = by_org[org.pk]
            for j, user in enumerate(people[org.pk]):
                for n in range(NOTIFICATIONS_PER_USER):
                    kr = krs[(j * NOTIFICATIONS_PER_USER + n) % len(krs)]
                    notifications.append(
                        Notification(
                            organization=org,
                            user=user,
                            kind="change",
                            kr=kr,
                            key=f"bench:{user.pk}:{n}",
                            message=f"{kr.title} changed",
                            read_at=now if n % 2 else None,
                        )
                    )
            for n in range(STEPS_PER_ORG):
                kr = krs[n % len(krs)]
                steps.append(
                    Step(
                        organization=org,
                        kind="downward_review",
                        kr=kr,
                        assignee_id=kr.owner_id,
                        due_at=now + timedelta(days=2),
                        remind_at=now + timedelta(days=1),
                    )
                )
        Notification.objects.bulk_create(notifications, batch_size=BATCH)
        Step.objects.bulk_create(steps, batch_size=BATCH)
    return orgs


def bench_tenant() -> BenchTenant:
    """The measured organization (`bench-http-0000`), built as every other plus its
    shared KR of `BENCH_CHILDREN` children, a password and a token for its admin."""
    (org,) = tenants_build(prefix=BENCH_SLUG, count=1, extra_children=BENCH_CHILDREN)
    admin = User.objects.get(username=f"{org.slug}-u0")
    admin.set_password(BENCH_PASSWORD)
    admin.save(update_fields=["password"])
    token = Token.objects.create(user=admin)
    shared = KeyResult.objects.filter(
        organization=org, parent__isnull=True, title=f"Shared KR {SHARED_KRS}"
    ).get()
    plans = Plan.objects.filter(organization=org, kr__parent=shared).order_by("kr_id")
    return BenchTenant(
        slug=org.slug,
        username=admin.username,
        password=BENCH_PASSWORD,
        token=token.key,
        shared_kr=shared.pk,
        children=[p.kr_id for p in plans],
        values={p.kr_id: [int(Decimal(v)) for v in p.values_json] for p in plans},
        versions={p.kr_id: p.version for p in plans},
    )


# --- The cycle tree's organization (the `cycle_tree` figure) ---------------------------

TREE_SLUG = "bench-tree"
TREE_KRS = 2000
TREE_GROUP = 5  # a shared KR and its four contributions, one in each department
TREE_PER_OBJECTIVE = 100
TREE_START = date(2025, 10, 6)  # a Monday; a quarter before the other cycle


@dataclass(frozen=True)
class TreeTenant:
    """The organization whose cycle tree the HTTP benchmark loads."""

    slug: str
    username: str
    password: str
    cycle: int  # the cycle of `TREE_KRS` KRs
    krs: int


def tree_cycle_build(
    *, org: Organization, name: str, people: list, departments: list, krs: int, start=TREE_START
) -> Cycle:
    """A weekly cycle of `krs` KRs (a multiple of 5) in bulk: objectives of 100 KRs,
    each a list of shared KRs with four contributions (one per department, additive, so
    the shared KR's effective plan is their sum), every contribution checked in for the
    first six periods. `people`: the owner of the objectives first, then the owners of
    the contributions; `departments`: at least four."""
    if krs % TREE_GROUP:
        raise ValueError(f"krs must be a multiple of {TREE_GROUP}")
    end = start + timedelta(days=7 * PERIODS - 1)
    with transaction.atomic():
        cycle = Cycle.objects.create(
            organization=org,
            name=name,
            start=start,
            end=end,
            granularity="week",
            alignment_meeting=alignment_meeting_default(start),
            midcycle_check=midcycle_check_default(start),
        )
        objectives = Objective.objects.bulk_create(
            [
                Objective(
                    organization=org,
                    cycle=cycle,
                    title=f"{name} objective {k}",
                    owner=people[0],
                    position=k,
                )
                for k in range(-(-krs // TREE_PER_OBJECTIVE))
            ]
        )
        groups = krs // TREE_GROUP
        seeds = [[g * 10 + c for c in range(TREE_GROUP - 1)] for g in range(groups)]
        parents = KeyResult.objects.bulk_create(
            [
                KeyResult(
                    organization=org,
                    objective=objectives[g * TREE_GROUP // TREE_PER_OBJECTIVE],
                    cycle=cycle,
                    title=f"{name} shared KR {g}",
                    owner=people[0],
                    department=departments[0],
                    unit="leads",
                    metric_kind="cumulative",
                    target=Decimal(sum(sum(_values(s)) for s in seeds[g])),
                    cross_functional=True,
                    position=g,
                )
                for g in range(groups)
            ],
            batch_size=BATCH,
        )
        children = KeyResult.objects.bulk_create(
            [
                KeyResult(
                    organization=org,
                    objective_id=parent.objective_id,
                    cycle=cycle,
                    title=f"{parent.title}, part {c}",
                    owner=people[1 + c % (len(people) - 1)],
                    department=departments[c % len(departments)],
                    unit="leads",
                    metric_kind="cumulative",
                    target=Decimal(sum(_values(seed))),
                    parent=parent,
                    path=f"{parent.pk}/",
                    position=c,
                )
                for parent, group in zip(parents, seeds, strict=True)
                for c, seed in enumerate(group)
            ],
            batch_size=BATCH,
        )
        plans = []
        for parent, group in zip(parents, seeds, strict=True):
            sums = _json([sum(_values(s)[p] for s in group) for p in range(PERIODS)])
            plans.append(
                Plan(
                    organization=org, kr=parent, values_json=sums, effective_json=sums,
                    shape=Shape.CUSTOM,
                )
            )  # fmt: skip
        child_seeds = [seed for group in seeds for seed in group]
        for child, seed in zip(children, child_seeds, strict=True):
            values = _json(_values(seed))
            plans.append(
                Plan(
                    organization=org, kr=child, values_json=values, effective_json=values,
                    shape=Shape.CUSTOM,
                )
            )  # fmt: skip
        Plan.objects.bulk_create(plans, batch_size=BATCH)
        CheckIn.objects.bulk_create(
            [
                CheckIn(
                    organization=org,
                    kr=child,
                    period=period,
                    value=Decimal(_values(seed)[period]),
                    author_id=child.owner_id,
                )
                for child, seed in zip(children, child_seeds, strict=True)
                for period in range(CHECKED_IN)
            ],
            batch_size=BATCH,
        )
    return cycle


def tree_tenant(*, krs: int = TREE_KRS) -> TreeTenant:
    """An organization of its own (`bench-tree-0000`, built as every other, so that the
    measured tenant's pages stay as they are) with a second cycle of `krs` KRs, and a
    password for its admin."""
    (org,) = tenants_build(prefix=TREE_SLUG, count=1)
    people = list(
        User.objects.filter(memberships__organization=org).exclude(
            memberships__role=Role.VIEWER
        ).order_by("username")
    )  # fmt: skip
    departments = list(Department.objects.filter(organization=org).order_by("name"))
    cycle = tree_cycle_build(
        org=org, name="Tree Q4 2025", people=people, departments=departments, krs=krs
    )
    admin = User.objects.get(username=f"{org.slug}-u0")
    admin.set_password(BENCH_PASSWORD)
    admin.save(update_fields=["password"])
    return TreeTenant(
        slug=org.slug, username=admin.username, password=BENCH_PASSWORD, cycle=cycle.pk, krs=krs
    )
