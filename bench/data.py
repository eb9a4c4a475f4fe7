"""The benchmark's organizations: a KR tree of depth 4 with a shared parent of 100 children.

The tree is laid out in memory first (`layout`), then stored level by level with
`bulk_create` (ids come back, so each level's `path` is its parent's path plus the
parent's id), with one plan of 13 non-zero weekly values per KR. Stored aggregates
are then made right by one `recompute_organization(write=True)`: building 10,000
KRs through `kr_create` would cost about ten queries each.

Shape for `krs` KRs: `krs // 1000` roots with 10 children each; every level-2 KR
has 10 children, except the shared parent (the first child of the first root),
which has `shared_children` leaf children in four departments; the remaining KRs
are spread over the other level-3 KRs as level-4 leaves. Level-3 parents are mostly
additive, every tenth parallel (their children claim an impact) and every twentieth
sequential (a funnel of stages halving); every tenth level-2 KR is parallel.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from hierarchy import services as hs
from hierarchy.models import Aggregation, Cycle, Department, KeyResult, Membership, Organization
from plans.models import Plan, Shape
from plans.recompute import recompute_organization

User = get_user_model()

CYCLE_START = date(2026, 1, 5)  # a Monday
CYCLE_END = date(2026, 4, 5)  # 91 days: 13 weekly periods
PERIODS = 13
FAN_OUT = 10
DEPARTMENTS = ("Sales", "Marketing", "Product", "Support", "Finance")
USERS = ("bench-ada", "bench-bo", "bench-cy", "bench-di", "bench-ed")


@dataclass
class Node:
    """One KR of the layout, before it is stored."""

    level: int
    index: int  # position in the whole layout (stable, drives the values)
    parent: "Node | None"
    aggregation: str = Aggregation.ADDITIVE
    stage: int | None = None
    historical_ratio: Decimal | None = None
    claimed_impact: Decimal | None = None
    department: int = 0  # index into DEPARTMENTS
    values: list[int] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    kr: KeyResult | None = None


@dataclass(frozen=True)
class BenchOrg:
    org: Organization
    actor: User
    shared_parent: KeyResult
    children: list[KeyResult]  # of the shared parent, in id order
    krs: int


def _add(nodes: list[Node], level: int, parent: Node | None, **kwargs) -> Node:
    node = Node(level=level, index=len(nodes), parent=parent, **kwargs)
    nodes.append(node)
    if parent is not None:
        parent.children.append(node)
    return node


def layout(krs: int, shared_children: int) -> tuple[list[Node], Node]:
    """The tree of `krs` KRs, depth 4, and its shared parent."""
    nodes: list[Node] = []
    roots = [_add(nodes, 1, None) for _ in range(max(1, krs // 1000))]
    level2 = [_add(nodes, 2, root) for root in roots for _ in range(FAN_OUT)]
    shared = level2[0]
    for i, node in enumerate(level2[1:], start=1):
        if i % 10 == 5:
            node.aggregation = Aggregation.PARALLEL
    for i in range(shared_children):
        _add(nodes, 3, shared, department=i % 4)
    level3 = [_add(nodes, 3, node) for node in level2[1:] for _ in range(FAN_OUT)]
    remaining = krs - len(nodes)
    if remaining < 0:
        raise ValueError(f"{krs} KRs are too few for this shape ({len(nodes)} needed)")
    for i in range(remaining):
        _add(nodes, 4, level3[i % len(level3)], department=i % len(DEPARTMENTS))
    for i, node in enumerate(level3):
        if i % 20 == 7:
            node.aggregation = Aggregation.SEQUENTIAL
        elif i % 10 == 3:
            node.aggregation = Aggregation.PARALLEL
    for node in nodes:
        _fill(node)
    return nodes, shared


def _fill(node: Node) -> None:
    """Thirteen non-zero values; a funnel's stages halve from one stage to the next,
    and children of a parallel KR claim an impact."""
    parent = node.parent
    node.values = [10 + (node.index + i) % 7 for i in range(PERIODS)]
    if parent is not None and parent.aggregation == Aggregation.SEQUENTIAL:
        position = parent.children.index(node)
        node.stage = position + 1
        node.historical_ratio = Decimal("0.5") if position else None
        node.values = [2 ** (len(parent.children) - position)] * PERIODS
    elif parent is not None and parent.aggregation == Aggregation.PARALLEL:
        node.claimed_impact = Decimal(5 + node.index % 5)


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    return user or User.objects.create_user(username=username, password=None)


def _people(org: Organization, actor: User) -> tuple[list[User], list[Department]]:
    users = [actor, *(_user(username) for username in USERS[1:])]
    Membership.objects.bulk_create(Membership(organization=org, user=user) for user in users[1:])
    departments = [
        hs.department_create(org=org, name=name, lead=users[i])
        for i, name in enumerate(DEPARTMENTS)
    ]
    return users, departments


def _store_krs(
    org: Organization, cycle: Cycle, nodes: list[Node], users: list[User], depts: list[Department]
) -> None:
    objectives = {}
    for level in range(1, 5):
        batch = []
        for node in (n for n in nodes if n.level == level):
            root = node
            while root.parent is not None:
                root = root.parent
            if root.index not in objectives:
                objectives[root.index] = hs.objective_create(
                    org=org, cycle=cycle, title=f"Objective {root.index}", owner=users[0]
                )
            parent = node.parent.kr if node.parent else None
            departments = {child.department for child in node.children}
            node.kr = KeyResult(
                organization=org,
                objective=objectives[root.index],
                cycle=cycle,
                title=f"KR {node.index} (level {level})",
                owner=users[node.index % len(users)],
                department=depts[node.department],
                unit="leads",
                decimals=0,
                metric_kind="cumulative",
                target=Decimal(sum(node.values)),
                parent=parent,
                path=f"{parent.path}{parent.pk}/" if parent else "",
                aggregation=node.aggregation,
                stage=node.stage,
                historical_ratio=node.historical_ratio,
                claimed_impact=node.claimed_impact,
                cross_functional=len(departments) >= 2,
            )
            batch.append(node.kr)
        KeyResult.objects.bulk_create(batch, batch_size=2000)


def _store_plans(org: Organization, nodes: list[Node]) -> None:
    plans = []
    for node in nodes:
        values = [str(v) for v in node.values]
        plans.append(
            Plan(
                organization=org,
                kr=node.kr,
                values_json=values,
                effective_json=values,
                shape=Shape.CUSTOM,
            )
        )
    Plan.objects.bulk_create(plans, batch_size=2000)


def org_build(*, slug: str, krs: int, shared_children: int = 100) -> BenchOrg:
    """An organization of `krs` KRs with correct stored aggregates."""
    nodes, shared = layout(krs, shared_children)
    with transaction.atomic():
        actor = _user(USERS[0])
        org = hs.organization_create(name=f"Bench {slug}", slug=slug, actor=actor)
        users, departments = _people(org, actor)
        cycle = hs.cycle_create(
            org=org, name="Q1 2026", start=CYCLE_START, end=CYCLE_END, granularity="week"
        )
        _store_krs(org, cycle, nodes, users, departments)
        _store_plans(org, nodes)
    recompute_organization(org=org, write=True)
    report = recompute_organization(org=org, write=False)
    if report.krs != krs or report.mismatches:
        raise RuntimeError(f"bench data of {slug}: {report.krs} KRs, {report.mismatches[:3]}")
    children = sorted((n.kr for n in shared.children), key=lambda kr: kr.pk)
    return BenchOrg(org=org, actor=actor, shared_parent=shared.kr, children=children, krs=krs)
