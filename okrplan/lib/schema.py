"""OpenAPI schema generation (kept apart from api.py: DRF imports it lazily)."""

import re

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

MAX_ID = 2**63 - 1  # okrplan.lib.api.MAX_ID (not imported: DRF imports this module early)

# A number as the API answers it: a decimal string (DRF's COERCE_DECIMAL_TO_STRING).
DECIMAL_OUT = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
# ... and as it accepts one: a JSON number or a numeric string (okrplan/lib/fields.py).
DECIMAL_IN = {
    "oneOf": [
        {"type": "number"},
        {"type": "string", "format": "decimal", "pattern": r"^-?\d{1,15}(\.\d{1,6})?$"},
    ]
}


class NumberFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "okrplan.lib.fields.NumberField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(DECIMAL_OUT if direction == "response" else DECIMAL_IN)


class NumberListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "okrplan.lib.fields.NumberListField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "array", "items": DECIMAL_OUT if direction == "response" else DECIMAL_IN}


# --- The errors every operation can answer --------------------------------------------
#
# Added to every operation by one rule (issue 13 item 9: schemathesis found 72 operations
# answering statuses the schema did not list), from what the operation is: a write or a
# query string can be refused (400), a body can be too large (413), a login is needed
# (401) and may not be enough (403), an id or organization in the path may name nothing
# the caller can see (404, like a page number past the end), a body with a `version` can
# be stale (409), a throttled view can say "too many" (429). An operation's own
# declaration of a status wins.

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "`{field: [message, ...]}`, or `{detail: message}` for the whole request.",
    "additionalProperties": {},
}
STALE = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "version": {"type": "integer"}},
    "required": ["detail", "version"],
}


def _error(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class AutoSchema(openapi.AutoSchema):
    """Names nested `InputSerializer`/`OutputSerializer` components after their API.

    `RegisterApi.InputSerializer` becomes `RegisterApiInput`, so the one-APIView-
    per-operation style does not make components collide in /api/schema/.

    Every list the API answers is a page (`okrplan.lib.api.paginated`, API.md): the
    schema says so, `{count, next, previous, results}` with `page` and `page_size`,
    although our APIViews have no `pagination_class` for drf-spectacular to find.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            for status, response in self._standard_errors(operation).items():
                operation["responses"].setdefault(status, response)
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter["in"] == "query" and schema.get("type") == "integer":
                    # an integer in a query string is an id (IdFilter) unless it says
                    # otherwise (page, page_size)
                    schema.setdefault("minimum", 1)
                    schema.setdefault("maximum", MAX_ID)
        return operation

    def map_parsers(self) -> list[str]:
        """The API's bodies are JSON (API.md); the form parsers are there for `curl -d`
        and the test client, and a form cannot say `null`. An operation that takes a
        file declares multipart itself (the history import)."""
        return ["application/json"]

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            schema["additionalProperties"] = False  # strict.InputSerializer refuses them
        return schema

    def _standard_errors(self, operation: dict) -> dict[str, dict]:
        from rest_framework.permissions import IsAuthenticated

        write = self.method != "GET"
        parameters = {p["name"]: p["in"] for p in operation.get("parameters", [])}
        errors = {}
        if write or "query" in parameters.values():
            errors["400"] = _error(
                "The request was refused: what is wrong, by field.", FIELD_ERRORS
            )
        if any(issubclass(p, IsAuthenticated) for p in self.view.permission_classes):
            errors["401"] = _error("No valid token or session.", DETAIL)
            errors["403"] = _error("The caller's role does not allow this.", DETAIL)
        if "path" in parameters.values() or "page" in parameters:
            errors["404"] = _error("Nothing the caller can see has that id.", DETAIL)
        if "requestBody" in operation and self._versioned():
            errors["409"] = _error("The version sent is not the current one.", STALE)
        if "requestBody" in operation:
            errors["413"] = _error("The body is too large.", DETAIL)
            errors["415"] = _error(
                "The body's content type is not one this operation takes.", DETAIL
            )
        if getattr(self.view, "throttle_classes", None):
            errors["429"] = _error("Too many attempts: see Retry-After.", DETAIL)
        return errors

    def _versioned(self) -> bool:
        serializer = self.get_request_serializer()
        if isinstance(serializer, type):
            serializer = serializer()
        return "version" in getattr(serializer, "fields", {})

    def _get_paginator(self):
        from okrplan.lib.api import Pagination  # lazily, like DRF imports this module

        return super()._get_paginator() or Pagination()

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        if "." not in cls.__qualname__:
            return name
        owner = cls.__qualname__.rsplit(".", 1)[0].replace(".", "")
        if name.startswith("Patched"):
            return "Patched" + owner + name.removeprefix("Patched")
        return owner + name


# --- OpenAPI links: what an answer lets a client call next ---------------------------
#
# A link says "the id in this answer is the {x_id} of that operation" (OpenAPI 3 `links`),
# so a client (and schemathesis's stateful fuzzing) can follow POST a KR → its plan, its
# alignment, its lock, … with real ids. They are generated here, after drf-spectacular has
# built the paths, from two small tables: which answers name which object, and which
# bodies can be filled from an answer. Every operation whose path has `{kr_id}` (and no
# other id) is a target of every answer that names a KR, so a new KR operation is linked
# without editing this file. `tests/test_health_and_schema.py` checks every link's target
# operation and parameters exist.

V1 = "/api/v1/orgs/{org}"

# (method, path, status, JSON pointer into the answer, the path parameter it names)
NAMED_IN_ANSWERS: list[tuple[str, str, str, str, str]] = [
    ("post", "/api/v1/orgs/", "201", "/slug", "org"),
    ("get", "/api/v1/orgs/", "200", "/results/0/slug", "org"),
    *[
        (method, f"{V1}/{collection}/", status, pointer, parameter)
        for collection, parameter, created in [
            ("members", "member_id", True),
            ("departments", "department_id", True),
            ("cycles", "cycle_id", True),
            ("objectives", "objective_id", True),
            ("krs", "kr_id", True),
            ("dependencies", "dependency_id", True),
            ("steps", "step_id", False),  # made by the protocol, listed
            ("notifications", "notification_id", False),
        ]
        for method, status, pointer in [("post", "201", "/id"), ("get", "200", "/results/0/id")]
        if created or method == "get"
    ],
    ("get", f"{V1}/objectives/{{objective_id}}/", "200", "/key_results/0", "kr_id"),
    ("get", f"{V1}/krs/{{kr_id}}/", "200", "/parent", "kr_id"),
    ("patch", f"{V1}/krs/{{kr_id}}/", "200", "/parent", "kr_id"),
    ("get", f"{V1}/krs/{{kr_id}}/", "200", "/objective", "objective_id"),
    ("get", f"{V1}/krs/{{kr_id}}/", "200", "/cycle", "cycle_id"),
    ("get", f"{V1}/krs/{{kr_id}}/", "200", "/department", "department_id"),
    ("get", f"{V1}/krs/{{kr_id}}/alignment/", "200", "/children/0/id", "kr_id"),
    ("get", f"{V1}/krs/{{kr_id}}/alignment/", "200", "/rounds/0/id", "round_id"),
    ("get", f"{V1}/krs/{{kr_id}}/history/", "200", "/results/0/round", "round_id"),
    ("post", f"{V1}/krs/{{kr_id}}/checkins/", "201", "/kr", "kr_id"),
    ("put", f"{V1}/krs/{{kr_id}}/plan/", "200", "/kr", "kr_id"),
    ("post", f"{V1}/krs/{{kr_id}}/lock/", "200", "/kr", "kr_id"),
    ("post", f"{V1}/dependencies/", "201", "/upstream", "kr_id"),
    ("get", f"{V1}/dependencies/{{dependency_id}}/", "200", "/downstream", "kr_id"),
    ("get", f"{V1}/steps/", "200", "/results/0/round", "round_id"),
    ("get", f"{V1}/steps/", "200", "/results/0/kr", "kr_id"),
    ("post", f"{V1}/steps/{{step_id}}/answer/", "200", "/round", "round_id"),
    ("get", f"{V1}/rounds/{{round_id}}/", "200", "/parent_kr", "kr_id"),
    ("post", f"{V1}/rounds/{{round_id}}/notice/", "200", "/id", "round_id"),
    ("get", f"{V1}/notifications/", "200", "/results/0/kr", "kr_id"),
]

# (method, path, status, link name, target method, target path, body fields from the answer):
# the target's body takes these values (merged into what the client writes).
BODIES_FROM_ANSWERS: list[tuple[str, str, str, str, str, str, dict[str, str]]] = [
    (
        "post",
        f"{V1}/cycles/",
        "201",
        "ObjectiveInCycle",
        "post",
        f"{V1}/objectives/",
        {"cycle": "/id"},
    ),
    (
        "post",
        f"{V1}/objectives/",
        "201",
        "KrOfObjective",
        "post",
        f"{V1}/krs/",
        {"objective": "/id"},
    ),
    # a child of this KR, in its objective, department and unit
    (
        "get",
        f"{V1}/krs/{{kr_id}}/",
        "200",
        "ChildKr",
        "post",
        f"{V1}/krs/",
        {
            "objective": "/objective",
            "department": "/department",
            "owner": "/owner",
            "unit": "/unit",
            "metric_kind": "/metric_kind",
            "parent": "/id",
        },
    ),
    (
        "post",
        f"{V1}/krs/",
        "201",
        "SiblingKr",
        "post",
        f"{V1}/krs/",
        {
            "objective": "/objective",
            "department": "/department",
            "owner": "/owner",
            "unit": "/unit",
            "metric_kind": "/metric_kind",
            "parent": "/parent",
        },
    ),
    (
        "get",
        f"{V1}/krs/{{kr_id}}/",
        "200",
        "DependencyOnParent",
        "post",
        f"{V1}/dependencies/",
        {"upstream": "/parent", "downstream": "/id"},
    ),
    # the plan as it is, at its current version: what a save or a preview starts from
    *[
        (
            method,
            f"{V1}/krs/{{kr_id}}/plan/",
            "200",
            name,
            "put" if name == "SavePlan" else "post",
            f"{V1}/krs/{{kr_id}}/plan/" + ("" if name == "SavePlan" else "preview/"),
            {"values": "/values", "version": "/version"},
        )
        for method in ("get", "put")
        for name in ("SavePlan", "PreviewPlan")
    ],
    (
        "get",
        f"{V1}/krs/{{kr_id}}/",
        "200",
        "SavePlanAtVersion",
        "put",
        f"{V1}/krs/{{kr_id}}/plan/",
        {"version": "/plan_version"},
    ),
]


def _path_parameters(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", path))


def _link_name(operation_id: str, suffix: str = "") -> str:
    """A link's name from its target (`v1_orgs_krs_plan_update` → `KrsPlanUpdate`)."""
    words = operation_id.removeprefix("v1_orgs_").split("_")
    return "".join(w.capitalize() for w in words) + suffix


def _response(operation: dict, status: str) -> dict:
    try:
        return operation["responses"][status]
    except KeyError:
        raise ValueError(f"links: no {status} answer in {operation['operationId']}") from None


def _operation(paths: dict, method: str, path: str) -> dict:
    try:
        return paths[path][method]
    except KeyError:
        raise ValueError(f"links: no operation {method.upper()} {path}") from None


def _carried(source_path: str, target_path: str, filled: str) -> dict[str, str]:
    """The target's other path parameters, taken from the source's own path (`org`)."""
    carried = {}
    for name in _path_parameters(target_path) - {filled}:
        if name not in _path_parameters(source_path):
            return {}
        carried[name] = f"$request.path.{name}"
    return carried


def postprocess_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: adds the `links` of the two tables above."""
    paths = result["paths"]
    operations = [
        (path, method, op)
        for path, item in paths.items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    for method, path, status, pointer, parameter in NAMED_IN_ANSWERS:
        links = _response(_operation(paths, method, path), status).setdefault("links", {})
        for target_path, _method, target in operations:
            names = _path_parameters(target_path)
            if parameter not in names or names - {parameter, "org"}:
                continue  # the target needs another id than the one this answer names
            carried = _carried(path, target_path, parameter)
            if names - {parameter} - carried.keys():
                continue  # the source cannot say which organization
            suffix = "" if pointer.strip("/") in ("id", "slug") else "Of" + _camel(pointer)
            links[_new(links, _link_name(target["operationId"], suffix))] = {
                "operationId": target["operationId"],
                "parameters": {parameter: f"$response.body#{pointer}", **carried},
            }
    for method, path, status, name, target_method, target_path, fields in BODIES_FROM_ANSWERS:
        target = _operation(paths, target_method, target_path)
        links = _response(_operation(paths, method, path), status).setdefault("links", {})
        carried = _carried(path, target_path, "")
        if not carried:
            raise ValueError(f"links: {name} cannot fill the path of {target['operationId']}")
        links[_new(links, name)] = {
            "operationId": target["operationId"],
            "parameters": carried,
            "requestBody": {field: f"$response.body#{ptr}" for field, ptr in fields.items()},
        }
    return result


def _new(links: dict, name: str) -> str:
    """A link's name, refused if the answer has a link of that name already."""
    if name in links:
        raise ValueError(f"links: two links named {name} on one answer")
    return name


def _camel(pointer: str) -> str:
    return "".join(w.capitalize() for w in re.split(r"[/_]", pointer) if w and not w.isdigit())
