"""Events the hierarchy publishes (see okrplan/lib/events.py)."""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class KeyResultCreated:
    kr_id: int


@dataclass(frozen=True)
class KeyResultWriting:
    """A KR's row (and its parents' rows) are about to be written: the plans of these
    KRs' chains are locked first (the one lock order, okrplan/lib/locks.py: a plan save
    locks its chain, then writes its KR's target), in one statement. Published before
    the first write; `kr_ids` are the KRs whose chains the write touches."""

    organization_id: int
    kr_ids: tuple[int, ...]


@dataclass(frozen=True)
class KeyResultMoved:
    """A KR's parent, stage or aggregation-relevant fields changed."""

    kr_id: int
    old_parent_id: int | None
    # What it was, so a locked parent's total can be compared before and after, and the
    # field the change was asked through (a refusal names it).
    old_stage: int | None = None
    old_claimed_impact: Decimal | None = None
    field: str = "parent"


@dataclass(frozen=True)
class FunnelReordered:
    """Stages of a sequential KR swapped their numbers (`kr_stage_move`), written already:
    `old_stages` are (KR id, stage as it was), so that a locked parent's figures can be
    compared before and after; `title` names the stage the move was asked for."""

    parent_id: int
    old_stages: tuple[tuple[int, int], ...]
    title: str


@dataclass(frozen=True)
class KeyResultDeleted:
    kr_id: int
    parent_id: int | None
    # What it contributed (a deletable KR has no plan history: its plan is zeros).
    target: Decimal = Decimal(0)
    metric_kind: str = "cumulative"
    stage: int | None = None
    claimed_impact: Decimal | None = None


@dataclass(frozen=True)
class InvitationCreated:
    """An admin invited someone: the notifications app tells them (in-app and e-mail)."""

    invitation_id: int
    organization_id: int


@dataclass(frozen=True)
class InvitationClosed:
    """An invitation was answered or withdrawn: its notification is done with."""

    invitation_id: int
    organization_id: int
    withdrawn: bool = False


@dataclass(frozen=True)
class MemberDutiesAsked:
    """Asked before a member leaves an organization or becomes a viewer: a higher app adds
    to `duties` what is still theirs to do there, as (kind, words) (the notifications app:
    their open steps), so the refusal names all of it."""

    organization_id: int
    user_id: int
    username: str
    duties: list = field(default_factory=list)


@dataclass(frozen=True)
class KeyResultsArchiving:
    """These KRs are about to be archived (a KR with its subtree, or an objective with its
    KRs): a higher app adds to `refusals` what must be finished first (the notifications
    app: an open round or an open step on one of them), and nothing is archived then."""

    organization_id: int
    kr_ids: tuple[int, ...]
    refusals: list = field(default_factory=list)


@dataclass(frozen=True)
class KeyResultsArchived:
    """These KRs were archived: nobody is chased for their check-ins any more."""

    organization_id: int
    kr_ids: tuple[int, ...]
