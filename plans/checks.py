"""The alignment checks of SPEC.md §4: plain functions over plain values, no ORM.

Each check has a stable `code`, a `severity` (info, warning, critical), a one-line
message with the numbers, and the numbers as `data` (decimals as strings).
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

# `num` (a figure in a message) is imported from here by the pages too
from okrplan.lib.numbers import fmt, num
from plans import rollup
from plans.shapes import centroid

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    message: str
    data: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What people call it (pages, exports); `code` is for programs (the API)."""
        return check_label(self.code)


# SPEC.md §4's checks as people name them: the pages show these, never the code.
CHECK_LABELS = {
    "aggregate_gap": "Gap against the target",
    "missing_contribution": "Missing contribution",
    "funnel_ratio_disconnect": "Funnel ratio off its history",
    "timing_mismatch": "Timing mismatch",
    "double_counted_impact": "Claims counted twice",
    "impact_shortfall": "Claims fall short",
    "cascade_pending": "Cascade review pending",
    "orphaned_modification": "Modification without impact notice",
}


def check_label(code: str) -> str:
    return CHECK_LABELS.get(code, code.replace("_", " ").capitalize())


@dataclass(frozen=True)
class ChildFacts:
    """What the checks need of one child, beyond the rollup's inputs."""

    child: rollup.Child
    title: str
    department: str
    values: list[Decimal]  # its own plan
    historical_ratio: Decimal | None = None


@dataclass(frozen=True)
class Tolerances:
    gap_pct: Decimal = Decimal(1)
    funnel_pct: Decimal = Decimal(10)
    timing: Decimal = Decimal("0.25")
    overlap_factor: Decimal = Decimal("0.75")


def pct(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def gap_figures(target: Decimal, aggregate: Decimal) -> tuple[Decimal, Decimal | None]:
    """gap = target − aggregate (positive when short); gap_pct = gap / target × 100."""
    gap = target - aggregate
    return gap, (pct(gap / target * HUNDRED) if target else None)


def aggregate_gap(
    *, target: Decimal, aggregate: Decimal, unit: str, tolerance_pct: Decimal, what: str
) -> list[Check]:
    gap, gap_pct = gap_figures(target, aggregate)
    if gap == 0:
        return []
    if gap_pct is not None and abs(gap_pct) <= tolerance_pct:
        return []
    short = "short" if gap > 0 else "over"
    share = f" ({abs(gap_pct)}%)" if gap_pct is not None else ""
    severity = "critical" if gap_pct is None or abs(gap_pct) >= 10 else "warning"
    return [
        Check(
            code="aggregate_gap",
            severity=severity,
            message=(
                f"{what} {num(aggregate)} {unit} against a target of {num(target)} {unit}: "
                f"{num(abs(gap))} {short}{share}."
            ),
            data={
                "target": fmt(target),
                "aggregate": fmt(aggregate),
                "gap": fmt(gap),
                "gap_pct": fmt(gap_pct, 2),
                "tolerance_pct": fmt(tolerance_pct),
            },
        )
    ]


def missing_contributions(children: list[ChildFacts]) -> list[Check]:
    checks = []
    for facts in children:
        if all(v == 0 for v in facts.values):
            checks.append(
                Check(
                    code="missing_contribution",
                    severity="warning",
                    message=f"{facts.department} has not planned “{facts.title}” yet (all zeros).",
                    data={"kr": facts.child.id, "department": facts.department},
                )
            )
    return checks


def funnel_ratio_disconnects(children: list[ChildFacts], tolerance_pct: Decimal) -> list[Check]:
    """A stage's planned conversion (target_j / target_(j−1)) against its history."""
    checks = []
    ordered = sorted(children, key=lambda f: (f.child.stage or 0, f.child.id))
    for previous, facts in pairwise(ordered):
        historical = facts.historical_ratio
        if not historical or not previous.child.target:
            continue
        ratio = facts.child.target / previous.child.target
        deviation = ratio / historical - 1
        if abs(deviation) * HUNDRED > tolerance_pct:
            checks.append(
                Check(
                    code="funnel_ratio_disconnect",
                    severity="warning",
                    message=(
                        f"Stage {facts.child.stage} ({facts.department}) plans a conversion of "
                        f"{num(rollup.q(ratio))} from stage {previous.child.stage} while history "
                        f"shows {num(historical)}: {'+' if deviation > 0 else '−'}"
                        f"{pct(abs(deviation) * HUNDRED)}% (tolerance {num(tolerance_pct)}%)."
                    ),
                    data={
                        "kr": facts.child.id,
                        "stage": facts.child.stage,
                        "ratio": fmt(rollup.q(ratio)),
                        "historical_ratio": fmt(historical),
                        "deviation_pct": fmt(pct(deviation * HUNDRED), 2),
                        "tolerance_pct": fmt(tolerance_pct),
                    },
                )
            )
    return checks


def timing_mismatches(
    children: list[ChildFacts], links: list[tuple[int, int]], tolerance: Decimal
) -> list[Check]:
    """Linked children (adjacent stages, registered dependencies) whose centroids differ."""
    by_id = {f.child.id: f for f in children}
    checks, seen = [], set()
    for a, b in links:
        key = tuple(sorted((a, b)))
        if key in seen or a not in by_id or b not in by_id:
            continue
        seen.add(key)
        first, second = by_id[a], by_id[b]
        ca, cb = centroid(first.values), centroid(second.values)
        if ca is None or cb is None:
            continue
        difference = abs(ca - cb)
        if difference > tolerance:
            checks.append(
                Check(
                    code="timing_mismatch",
                    severity="warning",
                    message=(
                        f"{first.department}'s plan peaks at {num(rollup.q(ca))} of the cycle and "
                        f"{second.department}'s at {num(rollup.q(cb))}: {num(rollup.q(difference))}"
                        f" apart (tolerance {num(tolerance)})."
                    ),
                    data={
                        "krs": [a, b],
                        "centroids": [fmt(rollup.q(ca)), fmt(rollup.q(cb))],
                        "difference": fmt(rollup.q(difference)),
                        "tolerance": fmt(tolerance),
                    },
                )
            )
    return checks


@dataclass(frozen=True)
class ParallelFigures:
    raw_claim: Decimal
    discounted_claim: Decimal
    needed: Decimal


def parallel_figures(
    *, children: list[rollup.Child], target: Decimal, start_value: Decimal, overlap: Decimal
) -> ParallelFigures:
    raw = rollup.raw_claim(children)
    return ParallelFigures(
        raw_claim=raw, discounted_claim=rollup.q(raw * overlap), needed=target - start_value
    )


def parallel_checks(figures: ParallelFigures, unit: str, overlap: Decimal) -> list[Check]:
    checks = []
    data = {
        "raw_claim": fmt(figures.raw_claim),
        "discounted_claim": fmt(figures.discounted_claim),
        "needed": fmt(figures.needed),
        "overlap_factor": fmt(overlap),
    }
    if figures.raw_claim > figures.needed:
        checks.append(
            Check(
                code="double_counted_impact",
                severity="warning",
                message=(
                    f"Contributors claim {num(figures.raw_claim)} {unit} together, more than the "
                    f"{num(figures.needed)} needed: some impact is probably counted twice."
                ),
                data=data,
            )
        )
    if figures.discounted_claim < figures.needed:
        checks.append(
            Check(
                code="impact_shortfall",
                severity="critical",
                message=(
                    f"Discounted for overlap ({num(figures.raw_claim)} × {num(overlap)}), the "
                    f"claims reach {num(figures.discounted_claim)} {unit} of the "
                    f"{num(figures.needed)} needed."
                ),
                data=data,
            )
        )
    return checks


def cascade_pending(open_reviews: list[dict]) -> list[Check]:
    """`open_reviews`: [{"kr", "department", "proposed_target"}] of open cascade reviews."""
    if not open_reviews:
        return []
    names = ", ".join(r["department"] for r in open_reviews)
    return [
        Check(
            code="cascade_pending",
            severity="warning",
            message=f"Waiting for {names} to answer the review of an upstream change.",
            data={"reviews": open_reviews},
        )
    ]


def orphaned_modifications(orphaned_rounds: list[dict]) -> list[Check]:
    """`orphaned_rounds`: [{"round", "modified_kr", "department", "due_at", "due_label"}]:
    `due_at` as data (ISO), `due_label` as people read it ("3 Feb 2026, 09:00 UTC")."""
    checks = []
    for r in orphaned_rounds:
        data = {k: v for k, v in r.items() if k != "due_label"}
        by = f" by {r['due_label']}" if r.get("due_label") else " in time"
        checks.append(
            Check(
                code="orphaned_modification",
                severity="critical",
                message=(
                    f"{r['department']} modified its plan and no impact notice went out{by}: "
                    "the other contributors were told automatically."
                ),
                data=data,
            )
        )
    return checks
