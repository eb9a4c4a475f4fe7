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
