"""Events the hierarchy publishes (see okrplan/lib/events.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyResultCreated:
    kr_id: int


@dataclass(frozen=True)
class KeyResultMoved:
    """A KR's parent, stage or aggregation-relevant fields changed."""

    kr_id: int
    old_parent_id: int | None


@dataclass(frozen=True)
class KeyResultDeleted:
    kr_id: int
    parent_id: int | None


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
