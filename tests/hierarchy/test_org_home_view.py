def test_a_member_sees_departments_members_and_settings(world, client, django_assert_num_queries):
    client.force_login(world.viewer)
    with django_assert_num_queries(7):  # + the unread badge: its count (the scope is reused)
        response = client.get("/o/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Marketing" in page
    assert "maya" in page
    assert "outsider" not in page


def test_home_lists_my_organizations(world, client):
    client.force_login(world.outsider)
    page = client.get("/").content.decode()
    assert "Globex" in page
    assert "Acme" not in page


def test_anonymous_visitors_are_sent_to_log_in(db, client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_links_the_shared_key_results_to_their_combined_view(planning, world, client):
    client.force_login(world.viewer)
    page = client.get("/o/acme/").content.decode()
    assert f'href="/o/acme/krs/{planning.pipeline.pk}/alignment/"' in page
    assert "Generate $5M in new pipeline" in page
    assert "Marketing pipeline</a>" not in page  # not shared: no combined view


def test_it_sends_an_expired_htmx_request_to_the_login_as_a_whole_page(client, world):
    """Live totals typed after the session expired: htmx is told to load the login page
    (HX-Redirect) instead of swapping the login form into the totals box."""
    response = client.post(
        "/o/acme/krs/1/plan/preview/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/o/acme/krs/1/plan/",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=/o/acme/krs/1/plan/"
    assert response.content == b""


def test_people_are_named_by_full_name_or_else_username(world, client):
    world.marketing_lead.first_name, world.marketing_lead.last_name = "Maya", "Lopez"
    world.marketing_lead.save()
    client.force_login(world.viewer)
    page = client.get("/o/acme/").content.decode()
    assert "<td>Marketing</td><td>Maya Lopez</td>" in page  # the department's lead
    assert "<td>Maya Lopez</td><td>maya</td>" in page  # the member list
    assert "<td>Sales</td><td>sam</td>" in page  # no full name: the username
