import yaml


def test_healthz_reports_database_and_broker(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "broker": "ok"}


def test_healthz_reports_a_broker_that_is_down(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "broker": "down"}


def test_the_schema_describes_every_api_route(db, client):
    from django.urls import get_resolver

    from tests.test_tenant_isolation import _walk

    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    documented = set(schema["paths"])
    for route, _ in _walk(get_resolver().url_patterns):
        if route.startswith("api/v1/"):
            path = "/" + route.replace("<slug:org>", "{org}")
            path = __import__("re").sub(r"<int:(\w+)>", r"{\1}", path)
            assert path in documented, f"{path} is missing from /api/schema/"


def test_the_api_docs_render_from_our_own_static_files(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn" not in response.content.lower()


# --- The OpenAPI links (okrplan/lib/schema.py::postprocess_links) --------------------


def _schema(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _at_pointer(schema: dict, node: dict, pointer: str) -> dict:
    """The schema of the value a JSON pointer reaches in an answer described by `node`."""
    for part in pointer.strip("/").split("/"):
        node = _resolve(schema, node)
        if part.isdigit():
            assert node.get("type") == "array", f"{pointer}: {part} indexes a non-array"
            node = node["items"]
        else:
            assert part in node.get("properties", {}), f"{pointer}: no property {part!r}"
            node = node["properties"][part]
    return _resolve(schema, node)


def _links(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    yield path, method, operation, status, response, name, link


def test_every_link_names_an_operation_and_parameters_that_exist(db, client):
    schema = _schema(client)
    by_id = {
        op["operationId"]: (path, op)
        for path, item in schema["paths"].items()
        for op in item.values()
    }
    links = list(_links(schema))
    assert len(links) > 200, "too few links: is the postprocessing hook installed?"
    for path, method, source, status, response, name, link in links:
        where = f"{method.upper()} {path} {status} → {name}"
        assert link["operationId"] in by_id, f"{where}: no operation {link['operationId']}"
        target_path, target = by_id[link["operationId"]]
        target_params = {p["name"]: p for p in target.get("parameters", [])}
        required = {p["name"] for p in target_params.values() if p["in"] == "path"}
        assert required <= link["parameters"].keys(), f"{where}: path parameters not all given"
        source_params = {p["name"] for p in source.get("parameters", []) if p["in"] == "path"}
        body = response["content"]["application/json"]["schema"]
        for parameter, expression in link["parameters"].items():
            assert parameter in target_params, f"{where}: {target_path} has no {parameter}"
            if expression.startswith("$request.path."):
                assert expression.removeprefix("$request.path.") in source_params, where
                continue
            assert expression.startswith("$response.body#/"), f"{where}: {expression}"
            value = _at_pointer(schema, body, expression.removeprefix("$response.body#"))
            wanted = target_params[parameter]["schema"]["type"]
            assert value.get("type") == wanted, f"{where}: {expression} is not an {wanted}"
        if "requestBody" in link:
            content = target["requestBody"]["content"]["application/json"]["schema"]
            fields = _resolve(schema, content)["properties"]
            for field, expression in link["requestBody"].items():
                assert field in fields, f"{where}: the body of {target_path} has no {field}"
                _at_pointer(schema, body, expression.removeprefix("$response.body#"))


def test_a_created_kr_links_to_what_one_does_with_it_next(db, client):
    """POST a KR → its GET, PATCH, DELETE, plan, alignment, lock, check-ins … by its id."""
    schema = _schema(client)
    created = schema["paths"]["/api/v1/orgs/{org}/krs/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in created.values()}
    for operation_id in [
        "v1_orgs_krs_retrieve",
        "v1_orgs_krs_partial_update",
        "v1_orgs_krs_destroy",
        "v1_orgs_krs_plan_update",
        "v1_orgs_krs_alignment_retrieve",
        "v1_orgs_krs_lock_create",
        "v1_orgs_krs_checkins_create",
        "v1_orgs_krs_history_list",
    ]:
        assert operation_id in targets, f"POST krs/ does not link to {operation_id}"
    plan = created["KrsPlanUpdate"]
    assert plan["parameters"] == {"kr_id": "$response.body#/id", "org": "$request.path.org"}


def test_healthz_fails_when_pages_cannot_name_their_static_files(db, settings, tmp_path):
    """Static files collected without their manifest (the old image's `DEBUG=1
    collectstatic`): every page answers 500, and /healthz, which answered 200, says so."""
    from django.test import Client

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path
    client = Client(raise_request_exception=False)
    assert client.get("/accounts/login/").status_code == 500
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["db"] == "ok"
    assert "css/app.css" in response.json()["static"]


# --- The standard error answers (okrplan/lib/schema.py::AutoSchema._standard_errors) ---


def test_it_documents_the_errors_every_operation_can_answer(db, client):
    schema = _schema(client)
    operations = [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 50
    for method, path, op in operations:
        statuses = set(op["responses"])
        where = f"{method} {path}: {sorted(statuses)}"
        if path not in ("/api/v1/auth/register/", "/api/v1/auth/token/"):
            assert {"401", "403"} <= statuses, where
        if "{" in path:
            assert "404" in statuses, where
        if method != "GET" or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "400" in statuses, where
        if "requestBody" in op:
            assert "413" in statuses, where
            assert "415" in statuses, where  # a body without a content type it takes
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "version" in _resolve(schema, body.get("schema", {})).get("properties", {}):
            assert "409" in statuses, where
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "429" in responses
    put_plan = schema["paths"]["/api/v1/orgs/{org}/krs/{kr_id}/plan/"]["put"]["responses"]
    assert put_plan["409"]["content"]["application/json"]["schema"]["required"] == [
        "detail",
        "version",
    ]


def test_progress_pct_is_a_string_in_the_schema_as_on_the_wire(db, client):
    schema = _schema(client)
    for component in ("KrOutput", "ObjectiveOutput"):
        field = schema["components"]["schemas"][component]["properties"]["progress_pct"]
        assert field["type"] == "string" and field.get("nullable") is True, (component, field)
