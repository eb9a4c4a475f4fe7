"""The organization's home (`org_home`, a benchmarked page) costs the same queries however
many key results there are; the dashboard is a page of its own (docs/decisions.md, issue
16), linked from the home and the navigation, so the home's count is unchanged."""

import pytest
from django.db import connection

from tests.planning import make_kr, set_plan


@pytest.mark.parametrize("shared", [1, 20])
def test_the_home_costs_the_same_queries_for_1_and_20_shared_krs(
    planning, world, client, django_assert_num_queries, shared
):
    for n in range(shared - 1):
        parent = make_kr(world, planning.objective, title=f"Shared {n}")
        for department, lead in (
            (world.marketing, world.marketing_lead),
            (world.sales, world.sales_lead),
        ):
            child = make_kr(
                world,
                planning.objective,
                title=f"Part {n} {department.name}",
                department=department,
                owner=lead,
                parent=parent,
            )
            set_plan(child, [1, 1, 1])
    client.force_login(world.viewer)
    client.get("/o/acme/")  # the session's first use
    # session, user, scope; departments, members, shared KRs; the badge's count.
    # PostgreSQL: one more, the organization found by slug and set for row-level security
    with django_assert_num_queries(7 + (connection.vendor == "postgresql")):
        html = client.get("/o/acme/").content.decode()
    assert html.count('href="/o/acme/krs/') == shared
    assert 'href="/o/acme/dashboard/">The dashboard</a>' in html
