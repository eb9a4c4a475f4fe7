"""The combined view's "Against actuals" section (templates/notifications/includes/
trajectory.html): the shared KR's burn-up from its aggregate, and beside it what its
aggregation makes of the contributions (SPEC.md §3):

- additive: the burn-up of the summed actuals against the shared plan (and the plan the
  contributions add up to), each contribution's progress beside it;
- sequential: the burn-up of the funnel's output (the last stage's actuals), each stage's
  actual against its implied target, and the funnel's actual ratios against the
  reference and historical ones;
- parallel: the burn-up of the parent's own measure against its own plan, each
  contribution's progress beside it.

Read with `plans.selectors.kr_subtree` (3 queries: the contributions, the level below
them, the check-ins of all), computed by plans/trajectory.py, drawn by
plans/trajectory_charts.py.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from django.utils.safestring import SafeString, mark_safe

from hierarchy.models import KeyResult
from plans.alignment import Contribution
from plans.progress import STATUS_LABELS, Progress
from plans.selectors import kr_subtree
from plans.trajectory import StageRatio, stage_ratios
from plans.trajectory_charts import (
    Chart,
    ContributionProgress,
    StageActual,
    contributions_chart,
    ratios_chart,
    stages_chart,
)
from plans.trajectory_pages import BurnUpView, burnup_view


def _safe(chart: Chart) -> SafeString:
    # trajectory_charts escapes every label it writes (tests/plans: test_it_escapes_labels)
    return mark_safe(chart.svg)  # noqa: S308  # nosec B308 B703


@dataclass(frozen=True)
class ContributionRow:
    contribution: Contribution
    progress: Progress
    status_label: str
    actual_to_date: Decimal | None
    implied_target: Decimal | None = None  # a funnel stage's
    implied_pct: Decimal | None = None  # its actual to date against it
    ratio: StageRatio | None = None


@dataclass(frozen=True)
class Trajectory:
    burnup: BurnUpView
    rows: list[ContributionRow]
    side: Chart | None  # the contributions' progress, or the stages
    side_svg: SafeString
    side_title: str
    ratios: Chart | None
    ratios_svg: SafeString

    @property
    def sequential(self) -> bool:
        return any(row.implied_target is not None for row in self.rows)


def _to_date(kr_facts, actuals: dict[int, Decimal]) -> Decimal | None:
    """A flow's Σ actuals, a level's latest: what a contribution has achieved so far."""
    if not actuals:
        return None
    if kr_facts.metric_kind == "cumulative":
        return sum(actuals.values(), Decimal(0))
    return actuals[max(actuals)]


def trajectory_of(
    *, kr: KeyResult, children: list[Contribution], effective_plan: list[Decimal], today: date
) -> Trajectory:
    """The section's figures and charts for the shared KR `kr` (with its cycle and plan)
    and its combined view's `children` and effective plan."""
    tree = kr_subtree(kr=kr, every=True)  # a parallel KR's contributions are beside it
    made = tree.made_of(kr.pk)
    burnup = burnup_view(
        kr=kr,
        actuals=tree.effective[kr.pk],
        made=made,
        contributions=effective_plan if made else None,
        today=today,
        heading="The aggregate against the plan"
        if made
        else f"“{kr.title}” measured against its plan",
    )
    sequential = kr.aggregation == "sequential" and bool(children)
    ordered = sorted(children, key=lambda c: (c.stage or 0, c.id)) if sequential else children
    ratios = {}
    if sequential:
        found = stage_ratios(
            [(c.id, tree.effective.get(c.id, {}), c.ratio, c.historical_ratio) for c in ordered]
        )
        ratios = {r.id: r for r in found}
    rows = []
    for c in ordered:
        progress = tree.progress.get(c.id)
        if progress is None:  # not below the KR any more (a concurrent change): skip it
            continue
        actual = _to_date(tree.facts[c.id], tree.effective.get(c.id, {}))
        implied_pct = None
        if sequential and c.implied_target:
            implied_pct = ((actual or Decimal(0)) / c.implied_target * 100).quantize(Decimal("0.1"))
        rows.append(
            ContributionRow(
                contribution=c,
                progress=progress,
                status_label=STATUS_LABELS.get(progress.status, progress.status),
                actual_to_date=actual,
                implied_target=c.implied_target if sequential else None,
                implied_pct=implied_pct,
                ratio=ratios.get(c.id),
            )
        )
    side = ratio_chart = None
    side_title = ""
    if sequential and rows:
        side_title = "Each stage against its implied target"
        side = stages_chart(
            chart_id=f"kr-{kr.pk}-stages",
            title="Each stage's actual to date against its implied target",
            stages=[
                StageActual(
                    label=_short(f"{r.contribution.stage or '-'}. {r.contribution.title}"),
                    unit=tree.facts[r.contribution.id].unit,
                    actual=r.actual_to_date,
                    implied_target=r.implied_target or Decimal(0),
                )
                for r in rows
            ],
        )
        stage_of = {c.id: c.stage for c in ordered}
        previous = {b.id: a.stage for a, b in pairwise(ordered)}
        ratio_chart = ratios_chart(
            chart_id=f"kr-{kr.pk}-ratios",
            title="The funnel's ratios: actual so far, reference and historical",
            ratios=[
                (
                    f"Stage {previous[r.contribution.id]} → stage {stage_of[r.contribution.id]}",
                    r.ratio,
                )
                for r in rows
                if r.ratio is not None
            ],
        )
    elif rows:
        side_title = "Each contribution's progress"
        side = contributions_chart(
            chart_id=f"kr-{kr.pk}-contributions",
            title="Each contribution's progress against its own target",
            contributions=[
                ContributionProgress(
                    label=_short(f"{r.contribution.department_name} · {r.contribution.title}"),
                    progress_pct=r.progress.progress_pct,
                    status=r.status_label,
                )
                for r in rows
            ],
        )
    return Trajectory(
        burnup=burnup,
        rows=rows,
        side=side,
        side_svg=_safe(side) if side else SafeString(""),
        side_title=side_title,
        ratios=ratio_chart,
        ratios_svg=_safe(ratio_chart) if ratio_chart else SafeString(""),
    )


def _short(label: str, width: int = 44) -> str:
    return label if len(label) <= width else f"{label[: width - 1]}…"
