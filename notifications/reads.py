"""Hot reads written by hand (see `plans/chain.py` for why): the open cascade reviews of
a shared KR's children and its latest rounds, which every combined view and preview
reads (usually to find nothing), and the unread count of every page's inbox badge. The
ORM's compilation of each cost more than its execution. What comes back is what the ORM
would build: plain values for the reviews, complete `Round` instances for the rounds.
"""

import functools

from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects

from hierarchy.models import Department, KeyResult
from notifications.models import Notification, Round, Step, StepKind, StepState
from okrplan.lib.sql import Columns, fetch_all, fetch_one, split, table

_REVIEW = Columns(Step, "s", ["kr", "id", "proposed_target", "due_at"])
_REVIEW_DEPARTMENT = Columns(Department, "d", ["name"])
_ROUND = Columns(Round, "r")
_MODIFIED_KR = Columns(KeyResult, "mk")
_MODIFIED_DEPARTMENT = Columns(Department, "md")


@functools.cache
def _reviews_sql(vendor: str) -> str:
    return (
        f"SELECT {_REVIEW.sql}, {_REVIEW_DEPARTMENT.sql} "
        f"FROM {table(Step)} s "
        f"JOIN {table(KeyResult)} k ON k.id = s.kr_id "
        f"LEFT JOIN {table(Department)} d ON d.id = s.department_id "
        # The KRs named by organization too: the planner never uses row-level security's
        # condition as an index's, and would read them by parent alone.
        f"WHERE s.organization_id = %s AND k.organization_id = %s AND k.parent_id = %s "
        f"AND s.kind = %s AND s.state = %s "
        f"ORDER BY k.stage, s.id"
    )


def open_reviews(*, organization_id: int, parent_id: int) -> list[dict]:
    """The open cascade reviews of the children of `parent_id`, in funnel order, as the
    combined view lists them."""
    rows = fetch_all(
        _reviews_sql(connection.vendor),
        [
            organization_id,
            organization_id,
            parent_id,
            StepKind.CASCADE_REVIEW.value,
            StepState.OPEN.value,
        ],
    )
    review, department = _REVIEW.converter(), _REVIEW_DEPARTMENT.converter()
    out = []
    for row in rows:
        (step_v, department_v), _ = split(row, _REVIEW, _REVIEW_DEPARTMENT)
        kr_id, pk, proposed_target, due_at = review(step_v)
        (name,) = department(department_v)
        out.append(
            {
                "kr": kr_id,
                "step": pk,
                "department": name or "",
                "proposed_target": proposed_target,
                "due_at": due_at,
            }
        )
    return out


@functools.cache
def _rounds_sql(vendor: str) -> str:
    return (
        f"SELECT {_ROUND.sql}, {_MODIFIED_KR.sql}, {_MODIFIED_DEPARTMENT.sql} "
        f"FROM {table(Round)} r "
        f"JOIN {table(KeyResult)} mk ON mk.id = r.modified_kr_id "
        f"JOIN {table(Department)} md ON md.id = mk.department_id "
        f"WHERE r.organization_id = %s AND r.parent_kr_id = %s "
        f"ORDER BY r.started_at DESC, r.id DESC LIMIT %s"
    )


def latest_rounds(*, organization_id: int, parent_id: int, limit: int) -> list[Round]:
    """The latest `limit` rounds of `parent_id`, newest first, each with its modified KR
    and that KR's department, and (one more query, only when there are rounds) its
    steps with their assignees and departments, in due order."""
    rows = fetch_all(_rounds_sql(connection.vendor), [organization_id, parent_id, limit])
    rounds = []
    for row in rows:
        (round_v, kr_v, department_v), _ = split(row, _ROUND, _MODIFIED_KR, _MODIFIED_DEPARTMENT)
        round_ = _ROUND.instance(round_v)
        round_.modified_kr = _MODIFIED_KR.instance(kr_v)
        round_.modified_kr.department = _MODIFIED_DEPARTMENT.instance(department_v)
        rounds.append(round_)
    if rounds:
        steps = Step.objects.select_related("assignee", "department").order_by("due_at", "id")
        prefetch_related_objects(rounds, Prefetch("steps", queryset=steps))
    return rounds


@functools.cache
def _unread_sql(vendor: str) -> str:
    return (
        f"SELECT COUNT(*) FROM {table(Notification)} n "
        f"WHERE n.organization_id = %s AND n.user_id = %s AND n.read_at IS NULL"
    )


def unread_count(*, organization_id: int, user_id: int) -> int:
    """How many of the user's notifications in the organization are unread: the badge
    of every page."""
    return fetch_one(_unread_sql(connection.vendor), [organization_id, user_id])[0]
