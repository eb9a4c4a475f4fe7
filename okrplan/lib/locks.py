"""The one lock order of okrplan's writes (docs/reliability.md "One lock order").

A transaction takes its row locks in this order, and never the other way round:

1. CHAIN: the plans of a KR chain (the KR and its ancestors), root first, in one
   statement: `plans.chain.chain_lock` (`chain_lock_of(kr)`). Several chains (a plan
   lock's KR and children, a whole organization's repair) are one statement in the same
   order: shorter `KeyResult.path` first (an ancestor before its descendants), then KR id.
2. ROUND: the modification rounds of a shared KR (`notifications.locks`).
3. STEP: the steps of a round or a review (`notifications.locks`).

So a service that starts from a round or a step (closing a round, answering a step)
first resolves the KR and locks its chain, then the round, then the step; a plan save
locks its chain and only then the rounds and steps its reactions touch; a write of a
KR's row (`hierarchy.kr_update`: a move, a new title) comes after the chains it touches,
all in one statement (`KeyResultWriting`); the deadline scan claims rounds before their
steps, skipping what is held. Two transactions
that meet on a row then always wait in the same direction, and cannot deadlock.

Rounds and steps are locked `FOR NO KEY UPDATE` (we never change a primary key): the
inserts that refer to them (events, notifications, steps of a round) take `KEY SHARE` on
them, which that lock does not block.

`taking(level, keys)` is called by those lock functions before they lock, and enforces
the order: within one unit of work (the atomic block that took a lock and the blocks
inside it), locking an earlier level after a later one raises `LockOrderError`, unless
the rows are held already (a round close that re-locks, through the plan save, the chain
it locked first). A service that locked in the wrong order fails in every test that
runs it, on SQLite too, instead of deadlocking now and then on PostgreSQL.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

CHAIN, ROUND, STEP = 1, 2, 3
NAMES = {CHAIN: "KR chain", ROUND: "round", STEP: "step"}


class LockOrderError(RuntimeError):
    """A lock taken against the one order: a bug in the service, never the user's."""


@dataclass(frozen=True)
class _Taken:
    level: int
    keys: frozenset
    block: tuple  # `connection.savepoint_ids` when taken: the atomic block it belongs to


class _Ledger:
    """The locks of the current transaction. A commit hook marks the transaction: commit
    and rollback clear the hooks, so a ledger whose hook is gone belongs to an ended one."""

    def __init__(self):
        self.taken: list[_Taken] = []

    def __call__(self) -> None:  # the commit hook: nothing to do
        pass


def _held() -> list[_Taken]:
    ledger = getattr(connection, "_okrplan_locks", None)
    if ledger is None or not any(func is ledger for _, func, _ in connection.run_on_commit):
        ledger = _Ledger()
        connection._okrplan_locks = ledger
        transaction.on_commit(ledger)
    block = tuple(connection.savepoint_ids)
    # What an atomic block that has ended took is no longer this unit of work's.
    ledger.taken = [t for t in ledger.taken if block[: len(t.block)] == t.block]
    return ledger.taken


def taking(level: int, keys: Iterable) -> None:
    """Record that the current transaction locks `keys` (plan KR ids, round or step ids)
    at `level`; `LockOrderError` when it holds a later level's lock already and not all
    of `keys`."""
    if not connection.in_atomic_block:
        return  # a lock outside a transaction is none (`select_for_update` refuses it)
    keys = frozenset(keys)
    held = _held()
    latest = max((t.level for t in held), default=0)
    if latest > level:
        have = frozenset().union(*(t.keys for t in held if t.level == level))
        missing = keys - have
        if missing:
            raise LockOrderError(
                f"{NAMES[level]} {sorted(missing)} locked after a {NAMES[latest]}: lock the "
                f"{NAMES[level]} first (okrplan/lib/locks.py, the one lock order)"
            )
    held.append(_Taken(level, keys, tuple(connection.savepoint_ids)))
