from django.core.management import call_command

from hierarchy.models import Department, Membership, Organization


def test_it_loads_the_demo_once_however_often_it_runs(db, api):
    call_command("load_demo")
    call_command("load_demo")
    org = Organization.objects.get(slug="acme")
    assert Membership.objects.filter(organization=org).count() == 9
    assert sorted(Department.objects.filter(organization=org).values_list("name", flat=True)) == [
        "Customer Success",
        "Engineering",
        "Marketing",
        "Partnerships",
        "Product",
        "Sales",
    ]
    response = api().post("/api/v1/auth/token/", {"username": "maya", "password": "okrplan-demo"})
    assert response.status_code == 200


def test_it_prints_the_url_and_the_logins(db, capsys):
    call_command("load_demo", url="http://127.0.0.1:8123/")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out
    for username in ("alice", "victor", "maya", "vera"):
        assert username in out
    assert "okrplan-demo" in out
