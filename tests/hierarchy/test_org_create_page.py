"""A new organization in the browser: /orgs/new/ (issue 14 item 2), linked from the
home page; the creator is its admin and lands on the setup guide."""

import re

import pytest

from hierarchy.models import Membership, Organization, Role
from hierarchy.services import organization_slug_suggest
from tests.conftest import make_user

URL = "/orgs/new/"


def errors_of(page: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="org-{field}-errors">(.*?)</ul>', page, re.S)
    assert match, f"no errors next to {field}"
    return match.group(1)


def test_the_home_page_links_to_it_and_its_empty_state_says_what_to_do(db, client):
    client.force_login(make_user("newbie"))
    page = client.get("/").content.decode()
    assert page.count(f'href="{URL}"') >= 3  # the heading's, the empty state's, the top bar's
    assert "Create an organization" in page
    assert "create one through the API" not in page


def test_it_creates_an_organization_with_the_caller_as_admin_and_opens_the_guide(db, client):
    user = make_user("founder")
    client.force_login(user)
    assert client.get(URL).status_code == 200
    response = client.post(URL, {"name": "Initech", "slug": "initech"})
    assert response.status_code == 302
    assert response["Location"] == "/o/initech/setup/"
    org = Organization.objects.get(slug="initech")
    assert org.name == "Initech"
    assert Membership.objects.get(organization=org).user == user
    assert Membership.objects.get(organization=org).role == Role.ADMIN
    page = client.get(response["Location"]).content.decode()
    assert "Initech is created, with you as its admin." in page
    assert "0 of 3 done" in page


def test_an_empty_slug_is_made_from_the_name(db, client):
    client.force_login(make_user("founder"))
    response = client.post(URL, {"name": "  Café Ñandú & Co. ", "slug": ""})
    assert response.status_code == 302
    assert Organization.objects.get().slug == "cafe-nandu-co"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Corp.", "acme-corp"),
        ("ACME", "acme"),
        ("  --Ærø  Tools--  ", "r-tools"),
        ("株式会社 Acme", "acme"),
        ("!!!", ""),
        ("x" * 60, "x" * 50),
        ("a" * 49 + " b", "a" * 49),  # cut at 50, no hyphen left at the end
    ],
)
def test_the_slug_suggestion(name, slug):
    assert organization_slug_suggest(name) == slug


def test_a_taken_slug_is_refused_next_to_the_field_and_nothing_is_written(world, client):
    client.force_login(world.member)
    response = client.post(URL, {"name": "Acme", "slug": ""})  # made from the name: acme
    assert response.status_code == 400
    page = response.content.decode()
    assert "This slug is taken; choose another." in errors_of(page, "slug")
    assert 'value="acme"' in page  # the slug it tried, to change
    assert 'aria-invalid="true"' in page
    assert Organization.objects.count() == 2
    assert not Membership.objects.filter(user=world.member, role=Role.ADMIN).exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "", "slug": "x"}, "name", "Give the organization a name."),
        ({"name": "Two\nlines", "slug": "x"}, "name", "Use one line: no line breaks"),
        ({"name": "Tab\there", "slug": "x"}, "name", "Use one line"),
        ({"name": "N" * 201, "slug": "x"}, "name", "Use at most 200 characters."),
        ({"name": "Fine", "slug": "Not a slug!"}, "slug", "Use lower-case letters a to z"),
        ({"name": "Fine", "slug": "-edge"}, "slug", "hyphens inside"),
        ({"name": "Fine", "slug": "s" * 51}, "slug", "Use at most 50 characters."),
        ({"name": "!!!", "slug": ""}, "slug", "Choose a slug (the name has nothing to make"),
    ],
)
def test_it_refuses_bad_input_next_to_the_field(db, client, body, field, message):
    client.force_login(make_user("founder"))
    response = client.post(URL, body)
    assert response.status_code == 400
    assert message in errors_of(response.content.decode(), field)
    assert not Organization.objects.exists()


def test_the_slug_is_lower_cased(db, client):
    client.force_login(make_user("founder"))
    assert client.post(URL, {"name": "Initech", "slug": " Initech-EU "}).status_code == 302
    assert Organization.objects.get().slug == "initech-eu"


def test_it_sends_anonymous_visitors_to_log_in(db, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post(URL, {"name": "X", "slug": "x"}).status_code == 302
    assert not Organization.objects.exists()


def test_the_page_has_breadcrumbs_and_no_inline_script(db, client):
    client.force_login(make_user("founder"))
    page = client.get(URL).content.decode()
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in page
    assert '<script src="/static/js/org_create.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page
