"""The benchmark's generated tenants (bench/tenants.py) are organizations as real ones."""

from bench.tenants import BENCH_CHILDREN, SHARED_KRS, bench_tenant, tenants_build, tree_tenant
from hierarchy.models import KeyResult, Organization
from plans.models import CheckIn, Plan, PlanRevision
from plans.recompute import recompute_organization


def test_it_builds_organizations_whose_aggregates_are_right(db):
    orgs = tenants_build(prefix="t", count=3)
    for org in orgs:
        parents = KeyResult.objects.filter(organization=org, parent__isnull=True)
        assert parents.count() == SHARED_KRS
        assert all(3 <= p.children.count() <= 6 and p.cross_functional for p in parents)
        report = recompute_organization(org=org, write=False)
        assert report.mismatches == []
    assert Plan.objects.count() == KeyResult.objects.count()
    leaves = KeyResult.objects.filter(parent__isnull=False).count()
    assert PlanRevision.objects.count() == 2 * leaves
    assert CheckIn.objects.count() == 6 * leaves


def test_the_measured_tenant_has_a_shared_kr_of_twenty_children(db):
    tenant = bench_tenant()
    assert len(tenant.children) == BENCH_CHILDREN
    org = Organization.objects.get(slug=tenant.slug)
    assert recompute_organization(org=org, write=False).mismatches == []
    assert KeyResult.objects.get(pk=tenant.shared_kr).children.count() == BENCH_CHILDREN


def test_the_tree_tenant_has_a_cycle_of_that_many_krs_whose_aggregates_are_right(db):
    tree = tree_tenant(krs=200)
    org = Organization.objects.get(slug=tree.slug)
    assert KeyResult.objects.filter(cycle_id=tree.cycle).count() == 200
    assert recompute_organization(org=org, write=False).mismatches == []
