"""The demo organization `acme` that `make run` loads (SPEC.md §8's cast)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from hierarchy.models import Department, Membership, Organization, Role

DEMO_PASSWORD = "okrplan-demo"
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
    return org


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORD, what) for username, _n, _r, what, _d in DEMO_PEOPLE]
