"""One organization's data as a file, and back (manage.py export_org / import_org).

The file is JSON of our own, stable format (`FORMAT`, `VERSION`): the organization's
row, the users it names (by username), and every row of every tenant model in
`CARRIED` order, each with its id in the exporting database. References between rows
are those ids; references to users are usernames. An import recreates the rows in
that order with fresh ids, maps every reference (foreign keys, and the ids written
inside `KeyResult.path`, `RoundEvent.data` and `Notification.key`), keeps every other
value as exported (timestamps included), and does all of it in one transaction.

A new tenant model, or a new JSON field, must be added here: `coverage_check`
(a system check, okrplan.E001) fails until it is.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from hierarchy.models import (
    Cycle,
    Department,
    Dependency,
    Invitation,
    KeyResult,
    Membership,
    Objective,
    Organization,
    TenantModel,
)
from hierarchy.services import invitation_token_new, viewer_duties
from notifications.models import (
    Notification,
    PropagationRule,
    Round,
    RoundEvent,
    Step,
    Webhook,
    WebhookDelivery,
)
from okrplan.lib import tenancy
from okrplan.lib.erasing import erasing
from okrplan.lib.text import USER_NAME_FIELDS, one_line_values_check
from plans.models import CheckIn, HistoryPoint, ImportBatch, Plan, PlanRevision

FORMAT = "okrplan.organization"
VERSION = 1

User = get_user_model()

# Every tenant model, each after the models it refers to (self-references aside).
CARRIED: list[type[TenantModel]] = [
    Membership,
    Invitation,
    Department,
    Cycle,
    Objective,
    KeyResult,
    Dependency,
    Plan,
    PlanRevision,
    CheckIn,
    ImportBatch,
    HistoryPoint,
    PropagationRule,
    Round,
    Step,
    RoundEvent,
    Notification,
    Webhook,
    WebhookDelivery,
]

# JSON fields that hold numbers only, carried as they are.
PLAIN_JSON = {
    (Plan, "values_json"),
    (Plan, "effective_json"),
    (PlanRevision, "before_values"),
    (PlanRevision, "after_values"),
    (Step, "proposed_json"),
    (Webhook, "events"),  # event names
}

# Ids written inside a round event's data: key → the model they name.
EVENT_DATA_IDS = {"revision": PlanRevision, "kr": KeyResult, "actor": User}

# Notification keys (the exactly-once record): each segment a literal, a model
# whose id it is, or WORD (any literal, e.g. the kind of round notice).
WORD = object()
NOTIFICATION_KEYS = [
    ("step", Step, "assigned"),
    ("step", Step, "reminder"),
    ("step", Step, "escalation", User),
    ("upward", PlanRevision, KeyResult),
    ("downward", PlanRevision, KeyResult),
    ("round", Round, WORD, KeyResult),
    ("invitation", Invitation),
]

# Secrets a row carries that must not be the same in two organizations (an import of an
# export into the same database): made anew on import. An invitation's link token (its
# notification's message names the old link, which then leads nowhere).
FRESH_SECRETS = {(Invitation, "token")}
# Not a webhook's signing secret: its receiver checks signatures with it, so an organization
# moved elsewhere goes on signing as before. A webhook delivery gets a new id (the
# X-Okrplan-Delivery header; no primary key is carried); its body, and the event id in
# it, stay as they were sent (docs/decisions.md, issue 16).


class OrgDataError(Exception):
    """The file cannot be imported (or the organization exported); nothing was written."""


def label(model) -> str:
    return model._meta.label_lower


def _fields(model) -> list[models.Field]:
    """The fields carried in a row: every concrete field but the id and the organization."""
    return [
        f for f in model._meta.concrete_fields if not f.primary_key and f.name != "organization"
    ]


# --- Values ------------------------------------------------------------------


def _dump(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _load(f: models.Field, value):
    if value is None or isinstance(f, models.JSONField):
        return value
    return f.to_python(value)


# --- Export --------------------------------------------------------------------


@dataclass
class _Export:
    usernames: dict[int, str]

    def username(self, user_id):
        if user_id is None:
            return None
        try:
            return self.usernames[user_id]
        except KeyError:
            raise OrgDataError(f"User {user_id} is named in a row but does not exist.") from None


def _user_ids(rows: dict[type, list[models.Model]]) -> set[int]:
    ids: set[int] = set()
    for model, objs in rows.items():
        user_fields = [f for f in _fields(model) if f.is_relation and f.related_model is User]
        for obj in objs:
            ids.update(getattr(obj, f.attname) for f in user_fields)
            if model is RoundEvent and obj.data.get("actor") is not None:
                ids.add(obj.data["actor"])
            if model is Notification:
                ids.update(int(v) for v in _key_ids(obj.key, only=User))
    ids.discard(None)
    return ids


def _segment_fits(p, part: str) -> bool:
    if p is WORD or p is User:  # a user is an id here, a username in a file
        return bool(part)
    if isinstance(p, str):
        return p == part
    return part.isdigit()


def _key_format(key: str):
    parts = key.split(":")
    for pattern in NOTIFICATION_KEYS:
        if len(pattern) == len(parts) and all(
            _segment_fits(p, part) for p, part in zip(pattern, parts, strict=True)
        ):
            return pattern, parts
    raise OrgDataError(f"Notification key {key!r} has no known format (okrplan/orgdata.py).")


def _key_ids(key: str, *, only=None) -> list[str]:
    pattern, parts = _key_format(key)
    return [
        part
        for p, part in zip(pattern, parts, strict=True)
        if not isinstance(p, str) and p is not WORD and (only is None or p is only)
    ]


def _row_dump(model, obj, ctx: _Export) -> dict[str, Any]:
    row: dict[str, Any] = {"id": _dump(obj.pk)}
    for f in _fields(model):
        value = getattr(obj, f.attname)
        if f.is_relation and f.related_model is User:
            value = ctx.username(value)
        elif model is RoundEvent and f.name == "data" and value.get("actor") is not None:
            value = {**value, "actor": ctx.username(value["actor"])}
        elif model is Notification and f.name == "key":
            pattern, parts = _key_format(value)
            value = ":".join(
                ctx.username(int(part)) if p is User else part
                for p, part in zip(pattern, parts, strict=True)
            )
        row[f.name] = _dump(value)
    return row


def org_export(*, org: Organization) -> dict[str, Any]:
    """Every row of `org` as one JSON-ready document (a consistent snapshot)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":  # one snapshot for every query
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        org = Organization.objects.get(pk=org.pk)
        rows = {
            model: list(model._base_manager.filter(organization=org).order_by("pk"))
            for model in CARRIED
        }
        members = Membership.objects.filter(organization=org).values_list("user_id", flat=True)
        users = User.objects.filter(pk__in=_user_ids(rows) | set(members)).order_by("username")
        ctx = _Export(usernames={u.pk: u.username for u in users})
        return {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().isoformat(),
            "organization": {
                "slug": org.slug,
                **{f.name: _dump(getattr(org, f.attname)) for f in _org_fields()},
            },
            "users": [
                {
                    "username": u.username,
                    "email": u.email,
                    "first_name": u.first_name,
                    "last_name": u.last_name,
                }
                for u in users
            ],
            "rows": {
                label(model): [_row_dump(model, obj, ctx) for obj in objs]
                for model, objs in rows.items()
            },
        }


def _org_fields() -> list[models.Field]:
    return [f for f in Organization._meta.concrete_fields if f.name not in ("id", "slug")]


# --- Import --------------------------------------------------------------------


@dataclass
class ImportReport:
    org: Organization
    rows: dict[str, int] = field(default_factory=dict)
    users_created: list[str] = field(default_factory=list)
    users_found: list[str] = field(default_factory=list)


@dataclass
class _Import:
    org: Organization
    users: dict[str, int]  # username → id in this database
    ids: dict[type, dict[int, int]]  # model → {exported id: new id}

    def user(self, username, where: str):
        if username is None:
            return None
        try:
            return self.users[username]
        except KeyError:
            raise OrgDataError(f"{where}: user {username!r} is not in the file's users.") from None

    def id(self, model, old, where: str):
        if old is None:
            return None
        if model is User:
            return self.user(old, where)
        try:
            return self.ids[model][int(old)]
        except (KeyError, TypeError, ValueError):
            raise OrgDataError(
                f"{where}: refers to {model._meta.verbose_name} {old!r}, which the file "
                "does not hold (before this row)."
            ) from None


def _parent_first(model, rows: list[dict]) -> list[dict]:
    """Rows ordered so that a row a self-reference points to comes first."""
    self_fields = [f.name for f in _fields(model) if f.is_relation and f.related_model is model]
    if not self_fields:
        return rows
    ids = {row["id"] for row in rows}
    placed: set = set()
    ordered: list[dict] = []
    pending = rows
    while pending:
        waiting = []
        for row in pending:
            refs = {row.get(name) for name in self_fields} - {None}
            if refs <= placed or not refs <= ids:  # unknown refs fail with a clear error later
                ordered.append(row)
                placed.add(row["id"])
            else:
                waiting.append(row)
        if len(waiting) == len(pending):
            raise OrgDataError(f"{label(model)}: rows refer to each other in a circle.")
        pending = waiting
    return ordered


def _value_load(model, f: models.Field, raw, ctx: _Import, where: str):
    if (model, f.name) in FRESH_SECRETS:
        return invitation_token_new()
    if f.is_relation:
        return ctx.id(f.related_model, raw, where)
    if model is KeyResult and f.name == "path":
        ancestors = [ctx.id(KeyResult, part, where) for part in (raw or "").split("/") if part]
        return "".join(f"{pk}/" for pk in ancestors)
    if model is RoundEvent and f.name == "data":
        if not isinstance(raw, dict):
            raise OrgDataError(f"{where}: data is not an object.")
        return {
            key: ctx.id(EVENT_DATA_IDS[key], value, where) if key in EVENT_DATA_IDS else value
            for key, value in raw.items()
        }
    if model is Notification and f.name == "key":
        if not isinstance(raw, str):
            raise OrgDataError(f"{where}: key is not text.")
        try:
            pattern, parts = _key_format(raw)
        except OrgDataError as error:
            raise OrgDataError(f"{where}: {error}") from None
        return ":".join(
            part if isinstance(p, str) or p is WORD else str(ctx.id(p, part, where))
            for p, part in zip(pattern, parts, strict=True)
        )
    return _load(f, raw)


def _users_load(entries: list[dict], report: ImportReport) -> dict[str, int]:
    users = {}
    for entry in entries:
        username = entry["username"]
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            names = {field: entry.get(field, "") for field in USER_NAME_FIELDS}
            try:
                one_line_values_check(names)
            except ValidationError as error:
                problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
                raise OrgDataError(f"user {username!r}: {problems}") from None
            user = User(username=username, email=entry.get("email", ""), **names)
            user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save()
            report.users_created.append(username)
        else:
            report.users_found.append(username)
        users[username] = user.pk
    return users


def _header_check(data) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise OrgDataError(f"Not an okrplan organization export (format {FORMAT!r}).")
    if data.get("version") != VERSION:
        raise OrgDataError(
            f"Export version {data.get('version')!r}; this okrplan reads version {VERSION}."
        )
    known = {label(model) for model in CARRIED}
    unknown = set(data.get("rows", {})) - known
    if unknown:
        raise OrgDataError(f"Unknown kinds of rows: {', '.join(sorted(unknown))}.")


def org_import(*, data: dict, slug: str | None = None) -> ImportReport:
    """Recreate an exported organization (under `slug`, default the exported one).

    All or nothing: one transaction; any bad row raises `OrgDataError` (or the
    database's IntegrityError) and leaves the database as it was.
    """
    _header_check(data)
    with transaction.atomic():
        try:
            return _import(data, slug)
        except ValidationError as error:
            raise OrgDataError("; ".join(error.messages)) from None
        except (KeyError, TypeError, AttributeError) as error:
            raise OrgDataError(
                f"The file is malformed ({type(error).__name__}: {error})."
            ) from None


def _import(data: dict, slug: str | None) -> ImportReport:
    exported = data["organization"]
    slug = slug or exported["slug"]
    if Organization.objects.filter(slug=slug).exists():
        raise OrgDataError(
            f"An organization with the slug {slug!r} exists already: import under "
            "another one with --slug."
        )
    org = Organization(slug=slug)
    for f in _org_fields():
        if f.name in exported:
            setattr(org, f.attname, _load(f, exported[f.name]))
    org.full_clean()
    org.save_base(raw=True)  # raw: the exported created_at, not now
    report = ImportReport(org=org)
    ctx = _Import(org=org, users=_users_load(data.get("users", []), report), ids={})
    for model in CARRIED:
        rows = data.get("rows", {}).get(label(model), [])
        ctx.ids[model] = {}
        relations = [f.name for f in _fields(model) if f.is_relation]
        for n, row in enumerate(_parent_first(model, rows)):
            where = f"{label(model)} row {n} (id {row.get('id')!r})"
            obj = model(organization=org)
            try:
                for f in _fields(model):
                    if f.name in row:
                        setattr(obj, f.attname, _value_load(model, f, row[f.name], ctx, where))
                # choices, lengths, ranges (references are mapped above, not looked up)
                obj.clean_fields(exclude=relations)
            except ValidationError as error:
                raise OrgDataError(f"{where}: {'; '.join(error.messages)}") from None
            # raw: timestamps as exported (no auto_now), and no model save() logic
            obj.save_base(raw=True)
            ctx.ids[model][row["id"]] = obj.pk
        report.rows[label(model)] = len(rows)
    # Raw rows skip the services: the one rule across rows they keep is asked here.
    duties = viewer_duties(organization_id=org.pk)
    if duties:
        raise OrgDataError(
            f"Viewers read only, but in this file {'; '.join(duties)}: make them members."
        )
    return report


def org_import_file(path: str, *, slug: str | None = None) -> ImportReport:
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError) as error:
        raise OrgDataError(f"Cannot read {path}: {error}") from None
    return org_import(data=data, slug=slug)


# --- Erase ---------------------------------------------------------------------


def org_erase(*, org: Organization) -> dict[str, int]:
    """Delete every row of `org`, then the organization; its users stay (they may belong
    to other organizations). Irreversible: the one path that deletes plan revisions
    and round events, in erase mode (okrplan/lib/erasing.py). Export it first."""
    deleted = {}
    qn = connection.ops.quote_name
    # Raw statements: the ORM's collector would refuse (PROTECT) and its queryset guard
    # (ImmutableQuerySet) too. Table names come from the models, quoted; one parameter.
    with erasing(), connection.cursor() as cursor:
        for model in reversed(CARRIED):
            table = qn(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [org.pk])  # noqa: S608
            deleted[label(model)] = cursor.rowcount
        table = qn(Organization._meta.db_table)
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [org.pk])  # noqa: S608
    return deleted


# --- Coverage ------------------------------------------------------------------


def tenant_models() -> list[type[TenantModel]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel) and not m._meta.abstract and not m._meta.proxy
    ]


def coverage_problems() -> list[str]:
    """What a new tenant model or field would leave out of the export; empty when covered."""
    problems = []
    carried = set(CARRIED)
    for model in tenant_models():
        if model not in carried:
            problems.append(f"{label(model)} is a tenant model that export_org does not carry.")
    for position, model in enumerate(CARRIED):
        earlier = set(CARRIED[: position + 1])
        for f in _fields(model):
            if f.is_relation:
                target = f.related_model
                if target is not User and target not in earlier:
                    problems.append(
                        f"{label(model)}.{f.name} refers to {label(target)}, which is not "
                        "carried before it."
                    )
                if f.many_to_many:
                    problems.append(f"{label(model)}.{f.name}: many-to-many is not carried.")
            elif isinstance(f, models.JSONField) and (model, f.name) not in PLAIN_JSON | {
                (RoundEvent, "data")
            }:
                problems.append(
                    f"{label(model)}.{f.name} is a JSON field export_org does not know: add it "
                    "to PLAIN_JSON, or map the ids inside it."
                )
        for f in model._meta.many_to_many:
            problems.append(f"{label(model)}.{f.name}: many-to-many is not carried.")
    return problems


def policy_check(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """okrplan.E002 (okrplan/lib/tenancy.py): every tenant table's row-level security. A
    database check: `manage.py check --database default` (not within `migrate`, which
    creates what it checks)."""
    return tenancy.policy_errors(databases, tenant_models())


def coverage_check(app_configs: Iterable | None = None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem, hint="See okrplan/orgdata.py.", id="okrplan.E001")
        for problem in coverage_problems()
    ]
