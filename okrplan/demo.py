"""The demo organization `acme` that `make run` loads: SPEC.md §8's cast and its
three shared key results, in the current quarter with monthly periods."""

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hierarchy import services as hs
from hierarchy.models import Cycle, Department, Membership, Organization, Role
from plans import services as ps

DEMO_PASSWORD = "okrplan-demo"  # nosec B105  # the demo users' published password (load_demo, README), not a secret
DEMO_ORG = ("acme", "Acme Inc.")

# username, full name, role, what they do, department they lead
DEMO_PEOPLE = [
    ("alice", "Alice Moreau", Role.ADMIN, "admin", None),
    ("victor", "Victor Reyes", Role.MEMBER, "VP of Revenue, parent owner", None),
    ("maya", "Maya Lin", Role.MEMBER, "Marketing lead", "Marketing"),
    ("sam", "Sam Ortiz", Role.MEMBER, "Sales lead", "Sales"),
    ("pat", "Pat Kim", Role.MEMBER, "Partnerships lead", "Partnerships"),
    ("priya", "Priya Shah", Role.MEMBER, "Product lead", "Product"),
    ("carlos", "Carlos Diaz", Role.MEMBER, "Customer Success lead", "Customer Success"),
    ("erin", "Erin Novak", Role.MEMBER, "Engineering lead", "Engineering"),
    ("vera", "Vera Stone", Role.VIEWER, "viewer (reads only)", None),
]


@transaction.atomic
def demo_load() -> Organization:
    """Create the demo organization, or bring it back to its demo state; idempotent."""
    User = get_user_model()
    slug, name = DEMO_ORG
    org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    for username, full_name, role, _what, department in DEMO_PEOPLE:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@acme.test"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
        if department:
            Department.objects.get_or_create(
                organization=org, name=department, defaults={"lead": user}
            )
    demo_plans_load(org)
    return org


def current_quarter(today: date) -> tuple[str, date, date]:
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    end = (
        date(today.year, 12, 31)
        if first_month == 10
        else date(today.year, first_month + 3, 1).fromordinal(
            date(today.year, first_month + 3, 1).toordinal() - 1
        )
    )
    return f"Q{(first_month - 1) // 3 + 1} {today.year}", start, end


def demo_plans_load(org: Organization, today: date | None = None) -> Cycle:
    """The $5M pipeline, the trial-to-paid funnel and the NPS gain (SPEC.md §8)."""
    name, start, end = current_quarter(today or timezone.localdate())
    existing = Cycle.objects.filter(organization=org, name=name).first()
    if existing:
        return existing
    User = get_user_model()
    people = {u.username: u for u in User.objects.filter(memberships__organization=org)}
    departments = {d.name: d for d in Department.objects.filter(organization=org)}
    victor = people["victor"]
    cycle = hs.cycle_create(org=org, name=name, start=start, end=end, granularity="month")

    def kr(objective, title, owner, department, unit, target, **extra):
        created = hs.kr_create(
            org=org,
            objective=objective,
            title=title,
            owner=people[owner],
            department=departments[department],
            unit=unit,
            metric_kind=extra.pop("metric_kind", "cumulative"),
            target=Decimal(0) if extra.get("metric_kind") != "level" else Decimal(target),
            **extra,
        )
        created.refresh_from_db()
        ps.plan_apply_shape(
            kr=created,
            shape=extra.get("shape", "linear"),
            target=Decimal(target),
            version=created.plan.version,
            actor=people[owner],
        )
        created.refresh_from_db()
        return created

    growth = hs.objective_create(
        org=org, cycle=cycle, title="Build next quarter's revenue engine", owner=victor
    )
    pipeline = kr(growth, "Generate $5M in new pipeline", "victor", "Sales", "USD", 5_000_000)
    kr(growth, "Marketing-sourced pipeline", "maya", "Marketing", "USD", 3_000_000, parent=pipeline)
    kr(growth, "Sales outbound pipeline", "sam", "Sales", "USD", 1_500_000, parent=pipeline)
    kr(growth, "Partner-sourced pipeline", "pat", "Partnerships", "USD", 500_000, parent=pipeline)
    ps.plan_lock(kr=pipeline, actor=victor)

    funnel = kr(
        growth,
        "Convert 500 trial users to paid",
        "victor",
        "Sales",
        "paid users",
        500,
        aggregation="sequential",
    )
    kr(growth, "Website visitors", "maya", "Marketing", "visitors", 10_000, parent=funnel, stage=1)
    kr(
        growth,
        "Trials started",
        "priya",
        "Product",
        "trials",
        2_000,
        parent=funnel,
        stage=2,
        historical_ratio=Decimal("0.18"),
    )
    kr(
        growth,
        "Trials converted to paid",
        "sam",
        "Sales",
        "paid users",
        500,
        parent=funnel,
        stage=3,
    )
    ps.plan_lock(kr=funnel, actor=victor)

    loyalty = hs.objective_create(
        org=org, cycle=cycle, title="Customers who recommend us", owner=victor
    )
    nps = hs.kr_create(
        org=org,
        objective=loyalty,
        title="Raise NPS from 32 to 45",
        owner=victor,
        department=departments["Customer Success"],
        unit="points",
        metric_kind="level",
        start_value=Decimal(32),
        target=Decimal(45),
        aggregation="parallel",
    )
    nps.refresh_from_db()
    ps.plan_apply_shape(
        kr=nps, shape="linear", target=Decimal(45), version=nps.plan.version, actor=victor
    )
    for title, owner, department, impact in [
        ("Onboarding rebuilt for every new account", "carlos", "Customer Success", 8),
        ("Ship the top five requested features", "priya", "Product", 7),
        ("Cut p95 page load below one second", "erin", "Engineering", 3),
    ]:
        child = hs.kr_create(
            org=org,
            objective=loyalty,
            title=title,
            owner=people[owner],
            department=departments[department],
            unit="%",
            metric_kind="cumulative",
            target=Decimal(0),
            parent=nps,
            claimed_impact=Decimal(impact),
        )
        child.refresh_from_db()
        ps.plan_apply_shape(
            kr=child,
            shape="linear",
            target=Decimal(100),
            version=child.plan.version,
            actor=people[owner],
        )
    return cycle


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORD, what) for username, _n, _r, what, _d in DEMO_PEOPLE]
