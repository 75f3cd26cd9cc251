"""harness/regression/repeats.py: when a case with repeats is worse, and K=1 as before."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from harness.regression.baseline import Entry
from harness.regression.compare import compare_entries
from harness.regression.repeats import (
    GradeCounts,
    compare_dimension,
    judge_case,
    judge_run,
    pass_hat_k,
    recommend_repeats,
)

DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
G = GradeCounts
ALL_PASS_5 = G(5, 0, 0)


def one_dimension(old: GradeCounts, new: GradeCounts, **kw) -> str:
    """The case's change when one dimension moves and the other three pass every time."""
    stable = G(old.samples, 0, 0), G(new.samples, 0, 0)
    olds = {"accuracy": old, **{d: stable[0] for d in DIMENSIONS[1:]}}
    news = {"accuracy": new, **{d: stable[1] for d in DIMENSIONS[1:]}}
    return judge_case(olds, news, **kw).change


def run_of(moved: tuple[GradeCounts, GradeCounts], stable: int = 49, k: int = 5):
    """A run: case "moved" with one dimension as given, `stable` cases that pass throughout."""
    fine = compare_dimension(G(k, 0, 0), G(k, 0, 0))
    results = {f"ok{i}": dict.fromkeys(DIMENSIONS, fine) for i in range(stable)}
    results["moved"] = {"accuracy": compare_dimension(*moved),
                        **{d: fine for d in DIMENSIONS[1:]}}
    return judge_run(results)


# -- the near misses --------------------------------------------------------------------------


def test_five_of_five_to_three_of_five_is_noise():
    assert one_dimension(ALL_PASS_5, G(3, 0, 2)) == "same"
    assert compare_dimension(ALL_PASS_5, G(3, 0, 2)).p_worse == pytest.approx(56 / 252)


def test_five_of_five_to_none_is_worse():
    change = compare_dimension(ALL_PASS_5, G(0, 0, 5))
    assert change.direction == "worse"
    assert change.p_worse == 1 / 252  # the only split of ten grades this extreme
    assert one_dimension(ALL_PASS_5, G(0, 0, 5)) == "worse"
    verdict = judge_case({"accuracy": ALL_PASS_5, "tone": ALL_PASS_5},
                         {"accuracy": G(0, 0, 5), "tone": ALL_PASS_5})
    assert verdict.worse == ("accuracy",)


def test_five_of_five_to_none_is_worse_in_a_run_of_fifty():
    verdict = run_of((ALL_PASS_5, G(0, 0, 5)))
    assert verdict.worse == ("moved",) and not verdict.passed
    assert verdict.cases["moved"].worse == ("accuracy",)
    assert verdict.alpha == 0.05


def test_one_of_five_to_none_is_not_worse():
    change = compare_dimension(G(1, 0, 4), G(0, 0, 5))
    assert change.direction == "worse" and change.p_worse == 0.5
    assert one_dimension(G(1, 0, 4), G(0, 0, 5)) == "same"


def test_five_of_five_to_one_of_five_is_not_enough_at_k5():
    """p = 6/252 = 0.024: the old Wilson rule called it worse; alone the level is 1%."""
    assert compare_dimension(ALL_PASS_5, G(1, 0, 4)).p_worse == pytest.approx(6 / 252)
    assert one_dimension(ALL_PASS_5, G(1, 0, 4)) == "same"


def test_all_partial_to_all_fail_is_caught_at_k5():
    """No pass on either side, so the pass rate does not move: only the grades' order can
    see it, and it is as extreme as 5/5 -> 0/5."""
    change = compare_dimension(G(0, 5, 0), G(0, 0, 5))
    assert change.old.pass_rate == change.new.pass_rate == 0
    assert change.p_worse == 1 / 252
    assert one_dimension(G(0, 5, 0), G(0, 0, 5)) == "worse"
    assert run_of((G(0, 5, 0), G(0, 0, 5))).worse == ("moved",)


def test_pass_to_partial_counts_too():
    assert one_dimension(ALL_PASS_5, G(0, 5, 0)) == "worse"


def test_a_rise_is_better_and_never_fails_the_gate():
    verdict = run_of((G(0, 0, 5), ALL_PASS_5))
    assert verdict.better == ("moved",) and verdict.passed
    assert compare_dimension(G(0, 0, 5), ALL_PASS_5).direction == "better"


def test_worse_on_one_dimension_and_better_on_another_is_worse():
    verdict = judge_case({"accuracy": ALL_PASS_5, "tone": G(0, 0, 5)},
                         {"accuracy": G(0, 0, 5), "tone": ALL_PASS_5})
    assert verdict.change == "worse"
    assert verdict.worse == ("accuracy",) and verdict.better == ("tone",)


def test_ten_samples_see_smaller_drops():
    assert one_dimension(G(10, 0, 0), G(3, 0, 7)) == "worse"  # p = 0.0015
    assert one_dimension(G(10, 0, 0), G(5, 0, 5)) == "same"  # p = 0.016


def test_noise_elsewhere_raises_the_bar():
    """The same drop, beside 49 cases whose every grade is drawn at random, is not enough:
    they could reach 1/252 too (K' = K = 5). A bigger baseline (K' = 20) gets it back."""
    rng = random.Random(3)

    def noisy(k_old: int) -> dict:
        return {d: compare_dimension(G(*_split(k_old, rng)), G(*_split(5, rng)))
                for d in DIMENSIONS}

    for k_old, expected in ((5, ()), (20, ("moved",))):
        results = {f"n{i}": noisy(k_old) for i in range(49)}
        fine = compare_dimension(G(k_old, 0, 0), G(5, 0, 0))
        results["moved"] = {"accuracy": compare_dimension(G(k_old, 0, 0), G(0, 0, 5)),
                            **{d: fine for d in DIMENSIONS[1:]}}
        assert judge_run(results).worse == expected


def _split(k: int, rng: random.Random) -> tuple[int, int, int]:
    picks = [rng.choice(("pass", "partial", "fail")) for _ in range(k)]
    return picks.count("pass"), picks.count("partial"), picks.count("fail")


# -- one sample each side: exactly the deterministic rule --------------------------------------


def _entry(grades: dict[str, str]) -> Entry:
    return Entry(score=1.0, passed=False, review=False, outcome=None, grades=grades,
                 reasons={}, reply="")


def test_k1_is_exactly_the_deterministic_rule():
    """Every pair of grade vectors over the four dimensions (81 x 81), against
    harness.regression.compare (the score held equal, so only the grades decide)."""
    grades = ("pass", "partial", "fail")
    for before in itertools.product(grades, repeat=4):
        for after in itertools.product(grades, repeat=4):
            old, new = (dict(zip(DIMENSIONS, before, strict=True)),
                        dict(zip(DIMENSIONS, after, strict=True)))
            expected = compare_entries("c", _entry(old), _entry(new))
            verdict = judge_case({d: G.of([g]) for d, g in old.items()},
                                 {d: G.of([g]) for d, g in new.items()})
            assert verdict.deterministic
            assert verdict.change == expected.change, (before, after)
            assert verdict.worse == tuple(s.field for s in expected.worse)
            assert verdict.better == tuple(s.field for s in expected.better)


def test_k1_cases_take_no_share_and_ignore_the_run_size():
    lower = compare_dimension(G(1, 0, 0), G(0, 1, 0))
    same = compare_dimension(G(1, 0, 0), G(1, 0, 0))
    results = {f"c{i}": {"accuracy": same} for i in range(200)}
    results["drop"] = {"accuracy": lower}
    verdict = judge_run(results)
    assert verdict.worse == ("drop",) and verdict.cases["drop"].worse == ("accuracy",)


def test_k1_at_a_temperature_advises_repeats():
    results = {"c": {"accuracy": compare_dimension(G(1, 0, 0), G(1, 0, 0))}}
    assert judge_run(results).advice == ""
    assert "--repeat 6" in judge_run(results, temperature=0.8).advice  # one case


# -- the exact test ---------------------------------------------------------------------------


def _null_law(pool: tuple[int, int, int], k: int):
    """Every draw of k of the pooled grades, with its exact probability."""
    total = math.comb(sum(pool), k)
    for a in range(k + 1):
        for b in range(k + 1 - a):
            c = k - a - b
            ways = math.comb(pool[0], a) * math.comb(pool[1], b) * math.comb(pool[2], c)
            if ways:
                yield (a, b, c), Fraction(ways, total)


@pytest.mark.parametrize("old,new", [((3, 1, 1), (1, 2, 2)), ((0, 5, 0), (2, 0, 3)),
                                     ((7, 2, 1), (4, 3, 3)), ((4, 0, 0), (1, 1, 4))])
def test_the_support_is_the_exact_null_law(old, new):
    """Given the pooled grades, the chance that p_worse <= t is the largest support value
    <= t, for every t in the support: each support value is reached with exactly its own
    probability, so the rule never claims more than the test can give."""
    change = compare_dimension(G(*old), G(*new))
    pool = tuple(o + n for o, n in zip(old, new, strict=True))
    law = [(compare_dimension(G(*(p - d for p, d in zip(pool, draw, strict=True))),
                              G(*draw)).p_worse, prob)
           for draw, prob in _null_law(pool, sum(new))]
    assert sum(prob for _, prob in law) == 1
    for t in change.worse_support:
        assert float(sum(prob for p, prob in law if p <= t)) == pytest.approx(t, abs=1e-12)
    assert change.worse_support[-1] == 1.0


def test_the_two_directions_mirror_each_other():
    up, down = compare_dimension(G(0, 1, 4), G(4, 1, 0)), compare_dimension(G(4, 1, 0),
                                                                             G(0, 1, 4))
    assert up.p_better == down.p_worse and up.direction == "better"
    assert up.p_value == up.p_better and compare_dimension(G(2, 1, 2), G(2, 1, 2)).p_value == 1


def test_unequal_sample_sizes():
    change = compare_dimension(G(20, 0, 0), G(0, 0, 5))
    assert change.p_worse == pytest.approx(1 / math.comb(25, 5))
    assert compare_dimension(G(20, 0, 0), G(5, 0, 0)).direction == "same"


# -- across the cases: the discrete step-up ---------------------------------------------------


def _reference(p: list[float], supports: list[tuple[float, ...]], level: float) -> set[int]:
    """[HSU] straight from its definition (Döhler, Durand & Roquain 2018, eq. 10)."""
    live = [j for j in range(len(p)) if supports[j][0] < 1]
    m = len(live)
    points = sorted({v for j in live for v in supports[j]})

    def f(j: int, t: float) -> float:
        return max((s for s in supports[j] if s <= t), default=0.0)

    def xi(t: float) -> float:
        return sum(math.inf if f(j, t) >= 1 else f(j, t) / (1 - f(j, t)) for j in live)

    usable = [t for t in points if xi(t) <= m * level]
    if not usable:
        return set()
    tau_m = max(usable)
    crit = [max((t for t in points if t <= tau_m and
                 sum(f(j, t) / (1 - f(j, tau_m)) for j in live) <= k * level), default=0.0)
            for k in range(1, m + 1)]
    order = sorted(live, key=lambda j: p[j])
    ranks = [k for k in range(1, m + 1) if p[order[k - 1]] <= crit[k - 1]]
    return set(order[: max(ranks)]) if ranks else set()


def test_the_step_up_matches_its_definition():
    rng = random.Random(11)
    for trial in range(150):
        k = rng.choice((3, 4, 5, 6))
        results = {}
        for i in range(rng.randint(1, 12)):
            old = _split(k, rng) if rng.random() < 0.7 else (k, 0, 0)
            new = (0, rng.randint(0, k), 0) if rng.random() < 0.3 else _split(k, rng)
            new = (new[0], new[1], k - new[0] - new[1])
            results[f"c{i}"] = {"accuracy": compare_dimension(G(*old), G(*new))}
        verdict = judge_run(results)
        changes = [dims["accuracy"] for dims in results.values()]
        expected = _reference([c.p_worse for c in changes], [c.worse_support for c in changes],
                              verdict.alpha)
        got = {i for i, c in enumerate(results) if verdict.cases[c].change == "worse"}
        assert got == expected, trial


@pytest.mark.parametrize("rate", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("shape", ["two cases", "two dimensions"])
def test_an_unchanged_run_fails_at_most_at_the_level_exactly(rate, shape):
    """Exact, not simulated: every outcome of two pass/fail dimensions at K = K' = 5, as two
    one-dimension cases or one case of two dimensions, weighted by its probability."""
    counts = [G(a, 0, 5 - a) for a in range(6)]
    weight = {c: math.comb(5, c.passed) * rate**c.passed * (1 - rate)**c.failed for c in counts}
    failed = level = 0.0
    for o1, n1, o2, n2 in itertools.product(counts, repeat=4):
        one, two = compare_dimension(o1, n1), compare_dimension(o2, n2)
        if shape == "two cases":
            verdict = judge_run({"a": {"accuracy": one}, "b": {"accuracy": two}})
        else:
            verdict = judge_run({"a": {"accuracy": one, "tone": two}})
        level = verdict.alpha
        if not verdict.passed:
            failed += weight[o1] * weight[n1] * weight[o2] * weight[n2]
    assert level == (0.02 if shape == "two cases" else 0.01)
    assert 0 < failed <= level


def test_the_level_is_one_percent_a_case_until_five_cases():
    fine = {"accuracy": compare_dimension(ALL_PASS_5, ALL_PASS_5)}
    assert judge_run({"a": fine}).alpha == 0.01
    assert judge_run({f"c{i}": fine for i in range(3)}).alpha == pytest.approx(0.03)
    assert judge_run({f"c{i}": fine for i in range(50)}).alpha == 0.05
    assert judge_run({f"c{i}": fine for i in range(50)}, alpha=0.01).alpha == 0.01


def test_too_few_samples_are_called_blind():
    three = judge_run({"a": {"accuracy": compare_dimension(G(3, 0, 0), G(0, 0, 3))}})
    assert three.worse == () and three.blind == ("a",) and "--repeat 6" in three.advice
    against_one = judge_run({"a": {"accuracy": compare_dimension(G(5, 0, 0), G(0, 0, 1))}})
    assert against_one.blind == ("a",)
    assert judge_run({"a": {"accuracy": compare_dimension(ALL_PASS_5, ALL_PASS_5)}}).blind == ()


def test_a_case_without_dimensions_is_same():
    verdict = judge_run({"empty": {}, "a": {"accuracy": compare_dimension(ALL_PASS_5,
                                                                           G(0, 0, 5))}})
    assert verdict.cases["empty"].change == "same" and verdict.worse == ("a",)


# -- counts, pass^k, how many repeats --------------------------------------------------------


def test_grade_counts():
    counts = G.of(["pass", "partial", "fail", "pass"])
    assert counts == G(2, 1, 1) and counts.samples == 4
    assert counts.mean == pytest.approx(0.625) and counts.pass_rate == 0.5
    assert G.from_pass_rate(0.6, 5) == G(3, 0, 2)
    with pytest.raises(ValueError):
        G.of(["pass", "great"])
    with pytest.raises(ValueError):
        G(-1, 0, 0)
    with pytest.raises(ValueError):
        compare_dimension(G(), ALL_PASS_5)


def test_a_lower_baseline_can_hide_a_drop_never_make_one():
    """A baseline kept as a pass rate counts its partials as fails. Lowering a baseline grade
    never lowers p_worse (every K, K' <= 6, every grade count)."""
    def counts(k: int):
        return [G(a, b, k - a - b) for a in range(k + 1) for b in range(k + 1 - a)]

    for k_old, k_new in itertools.product(range(1, 7), repeat=2):
        for old in counts(k_old):
            if not old.partial:
                continue
            lower = G(old.passed, old.partial - 1, old.failed + 1)
            for new in counts(k_new):
                assert (compare_dimension(lower, new).p_worse >=
                        compare_dimension(old, new).p_worse), (old, new)


def test_pass_hat_k():
    assert pass_hat_k(5, 5, 5) == 1 and pass_hat_k(4, 5, 5) == 0
    assert pass_hat_k(4, 5, 1) == pytest.approx(0.8)
    assert pass_hat_k(8, 10, 5) == pytest.approx(56 / 252)
    assert G(8, 1, 1).pass_hat(3) == pytest.approx(56 / 120)
    with pytest.raises(ValueError):
        pass_hat_k(3, 5, 6)
    with pytest.raises(ValueError):
        pass_hat_k(6, 5, 1)


def test_recommend_repeats():
    assert recommend_repeats(0) == 1
    assert recommend_repeats(0.8) == 8  # a collapse, in a run of 50 noisy cases
    assert recommend_repeats(0.8, cases=1) == 6  # level 1%, shared by four dimensions
    assert recommend_repeats(0.8, drop=(0.9, 0.5)) > 30
    assert recommend_repeats(0.8, cases=500) >= recommend_repeats(0.8, cases=50)
    assert recommend_repeats(0.8, baseline=20) == 4  # 1 / C(24, 4) clears 0.05 / 200
    assert recommend_repeats(0.8, baseline=60, drop=(0.9, 0.5)) < recommend_repeats(
        0.8, drop=(0.9, 0.5))
    with pytest.raises(ValueError):
        recommend_repeats(0.8, baseline=10, drop=(0.9, 0.5))  # no K is enough
    with pytest.raises(ValueError):
        recommend_repeats(-1)
