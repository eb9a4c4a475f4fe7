"""plans/actuals.py: a KR's effective actuals (SPEC.md §3 applied to check-ins)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plans.actuals import KrFacts, effective_actuals, objective_progress, progress_all
from plans.progress import Progress

D = Decimal


def kr(id, parent=None, aggregation="additive", kind="cumulative", stage=None, start=0):
    return KrFacts(
        id=id,
        parent_id=parent,
        metric_kind=kind,
        aggregation=aggregation,
        stage=stage,
        start_value=D(start),
        target=D(300),
        plan=[D(100), D(100), D(100)],
    )


def facts(*krs):
    return {k.id: k for k in krs}


def test_a_leaf_keeps_its_own_check_ins():
    assert effective_actuals(facts(kr(1)), {1: {0: D(5)}}) == {1: {0: D(5)}}


def test_an_additive_parent_sums_its_children_per_period_and_ignores_its_own():
    result = effective_actuals(
        facts(kr(1), kr(2, parent=1), kr(3, parent=1)),
        {1: {0: D(999)}, 2: {0: D(10), 1: D(20)}, 3: {1: D(5)}},
    )
    assert result[1] == {0: D(10), 1: D(25)}


def test_a_funnel_is_its_last_stage_whatever_the_order_of_the_rows():
    result = effective_actuals(
        facts(
            kr(1, aggregation="sequential"),
            kr(4, parent=1, stage=3),
            kr(2, parent=1, stage=1),
            kr(3, parent=1, stage=2),
        ),
        {2: {0: D(1000)}, 3: {0: D(200)}, 4: {0: D(40)}},
    )
    assert result[1] == {0: D(40)}


def test_a_parallel_parent_is_its_own_measure():
    result = effective_actuals(
        facts(kr(1, aggregation="parallel", kind="level", start=32), kr(2, parent=1)),
        {2: {0: D(50)}},
    )
    assert result[1] == {}


def test_a_child_missing_from_the_facts_does_not_count():
    assert effective_actuals(facts(kr(1)), {2: {0: D(5)}}) == {1: {}}


def test_an_objective_counts_the_krs_that_are_not_parts_of_another_of_its_krs():
    def at(pct):
        return Progress("on_track", D(1), D(1), D(1), D(pct), 0)

    progress = {1: at(20), 2: at(90), 3: at(60), 4: at(50)}
    # 2 is a part of 1 in the objective; 3's parent is elsewhere; 4 has no progress entry
    krs = [(1, None, D(1)), (2, 1, D(5)), (3, 99, D(3))]
    assert objective_progress(krs, progress) == D("50.00")  # (20 + 3 × 60) / 4


@given(
    st.lists(
        st.dictionaries(st.integers(0, 2), st.integers(0, 10**6).map(D), max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_an_additive_total_is_the_total_of_its_parts(children):
    """Whatever the parts checked in, the parent's actual to date is their sum."""
    tree = facts(kr(1), *(kr(10 + i, parent=1) for i in range(len(children))))
    actuals = {10 + i: a for i, a in enumerate(children)}

    summed = effective_actuals(tree, actuals)[1]
    progress = progress_all(tree, actuals)[1]

    assert sum(summed.values(), D(0)) == sum((v for a in children for v in a.values()), D(0))
    if any(children):
        assert progress.actual_to_date == sum(summed.values(), D(0))
    else:
        assert progress.status == "not_started"
