"""When is a case *worse* with `--repeat K`? An exact test per dimension, a discrete-aware
false-discovery control across the cases of a run, and the deterministic rule kept for K=1.

Why not the Wilson rule: it took the baseline's pass rate as uncertain but the new run's as
exact (1/5 -> 0/5 was "worse"), and it looked at passes only (partial -> fail moved nothing).

The rule, in three steps:

1. Per dimension (`compare_dimension`): the baseline's K' grades and the run's K grades are
   pooled; if nothing changed, the run's K are a random draw of K from the pool. The p-value
   is the exact chance, under that draw, of a mean grade (pass 1, partial 0.5, fail 0) as low
   as the run's (one-sided; the same upwards for "better"). It uses both samples' noise and
   all three grades. With small K only a few p-values are possible; each comparison keeps
   that list (its *support*), which is what steps 2 and 3 need.
2. Per case: the smallest of its dimension p-values, made a case p-value by a discrete
   Bonferroni over the dimensions (the sum, over dimensions, of the chance each could reach
   that p-value). Valid whatever the dependence between a reply's four grades.
3. Across the run (`judge_run`): the discrete Benjamini-Hochberg step-up of Döhler, Durand and
   Roquain (2018, "[HSU]"), at `alpha` (0.05; at most `case_alpha` = 1% per case compared in
   runs of fewer than five cases). A case that cannot reach a small p-value with its grades
   (most stable cases) takes no share of the budget (Tarone's idea), so noise elsewhere
   dilutes less. If nothing changed, the chance that the run calls any case worse (the gate
   fails) is at most `alpha`; when some cases did get worse, at most `alpha` of the cases
   called worse are false alarms, on average.

K=1 on both sides (temperature 0, a deterministic model, the offline reference model) stays
exactly as before: any lower grade on any dimension is worse, any higher one better.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

__all__ = [
    "CaseVerdict", "DimensionChange", "Direction", "GradeCounts", "RunVerdict",
    "compare_dimension", "judge_case", "judge_run", "pass_hat_k", "recommend_repeats",
]

Direction = Literal["worse", "better", "same"]
ALPHA = 0.05  # the run: chance that an unchanged run fails the gate
CASE_ALPHA = 0.01  # per case compared, until the run has 5 cases or more
_SCORE = {"pass": 2, "partial": 1, "fail": 0}  # twice the grade's value: integers, same order


@dataclass(frozen=True)
class GradeCounts:
    """How many of a dimension's K samples passed, were partial, failed."""

    passed: int = 0
    partial: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        if min(self.passed, self.partial, self.failed) < 0:
            raise ValueError(f"negative grade count: {self}")

    @classmethod
    def of(cls, grades: Iterable[str]) -> GradeCounts:
        """Counts of a sequence of "pass" / "partial" / "fail"."""
        seen = Counter(grades)
        unknown = set(seen) - set(_SCORE)
        if unknown:
            raise ValueError(f"unknown grade(s): {sorted(unknown)}")
        return cls(seen["pass"], seen["partial"], seen["fail"])

    @classmethod
    def from_pass_rate(cls, rate: float, samples: int) -> GradeCounts:
        """A baseline that kept only a pass rate: its partials are unknown and counted as
        fails, which makes the baseline look lower, so it can only hide a drop, never invent
        one. Re-record the baseline to get the partials back."""
        passed = round(rate * samples)
        return cls(passed, 0, samples - passed)

    @property
    def samples(self) -> int:
        return self.passed + self.partial + self.failed

    @property
    def mean(self) -> float:
        """The mean grade, pass 1, partial 0.5, fail 0."""
        return (self.passed + self.partial / 2) / self.samples if self.samples else 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.samples if self.samples else 0.0

    def pass_hat(self, k: int) -> float:
        """pass^k of this dimension: the chance that k fresh samples all pass it."""
        return pass_hat_k(self.passed, self.samples, k)


@dataclass(frozen=True)
class DimensionChange:
    """One dimension, baseline against run. `direction` is the way the mean grade moved;
    whether that is more than noise is decided for the whole run by `judge_run`, except
    with one sample on each side, where any move counts (`deterministic`)."""

    old: GradeCounts
    new: GradeCounts
    direction: Direction
    p_worse: float  # chance of a mean grade this low or lower if nothing changed
    p_better: float  # ... this high or higher
    worse_support: tuple[float, ...]  # every p_worse these pooled grades could give, ascending
    better_support: tuple[float, ...]

    @property
    def p_value(self) -> float:
        """The one-sided p-value in the direction it moved (1.0 if it did not move)."""
        return {"worse": self.p_worse, "better": self.p_better, "same": 1.0}[self.direction]

    @property
    def deterministic(self) -> bool:
        """One sample on each side: the rule of a deterministic model applies."""
        return self.old.samples == 1 and self.new.samples == 1


def _comb(n: int, k: int) -> int:
    return math.comb(n, k) if 0 <= k <= n else 0


@lru_cache(maxsize=65536)
def _null_tail(pool: tuple[int, int, int], drawn: int) -> tuple[tuple[int, ...], tuple[int, ...],
                                                              tuple[int, ...], int]:
    """Drawing `drawn` of the pooled (pass, partial, fail) grades at random: the possible
    totals (pass 2, partial 1) ascending, the number of draws giving a total <= each and
    >= each, and the number of draws in all. Exact integers."""
    passed, partial, failed = pool
    ways: dict[int, int] = {}
    for a in range(min(passed, drawn) + 1):
        for b in range(min(partial, drawn - a) + 1):
            c = drawn - a - b
            if c > failed:
                continue
            count = _comb(passed, a) * _comb(partial, b) * _comb(failed, c)
            ways[2 * a + b] = ways.get(2 * a + b, 0) + count
    totals = tuple(sorted(ways))
    low, running = [], 0
    for t in totals:
        running += ways[t]
        low.append(running)
    everything = running
    high = [everything - below + ways[t] for t, below in zip(totals, low, strict=True)]
    return totals, tuple(low), tuple(high), everything


@lru_cache(maxsize=65536)
def _compare(old: GradeCounts, new: GradeCounts) -> DimensionChange:
    if old.samples == 0 or new.samples == 0:
        raise ValueError("each side needs at least one sample")
    pool = (old.passed + new.passed, old.partial + new.partial, old.failed + new.failed)
    totals, low, high, everything = _null_tail(pool, new.samples)
    at = totals.index(2 * new.passed + new.partial)
    # A true division of two ints is correctly rounded: equal fractions give equal floats,
    # so a p-value compares exactly with the support values of other comparisons.
    p_worse, p_better = low[at] / everything, high[at] / everything
    worse_support = tuple(n / everything for n in low)
    better_support = tuple(sorted(n / everything for n in high))
    # Compare the mean grades exactly: 2*passed + partial over samples, cross-multiplied.
    before = (2 * old.passed + old.partial) * new.samples
    after = (2 * new.passed + new.partial) * old.samples
    direction: Direction = "worse" if after < before else "better" if after > before else "same"
    return DimensionChange(old, new, direction, p_worse, p_better, worse_support,
                           better_support)


def compare_dimension(old: GradeCounts, new: GradeCounts) -> DimensionChange:
    """The exact conditional permutation test of the mean grade, one-sided each way.

    Conditional on the pooled grades, so no pass rate has to be estimated; small K makes the
    enumeration cheap (at most (K+1)^2 draws to count)."""
    return _compare(old, new)


def _at_most(support: Sequence[float], t: float) -> float:
    """The largest value of `support` <= t (0 if none): the exact chance, if nothing
    changed, that a comparison with this support gives a p-value <= t."""
    i = bisect_right(support, t)
    return support[i - 1] if i else 0.0


@dataclass(frozen=True)
class _CaseTest:
    """A case's p-value (step 2) and every value it could take, for one direction."""

    p: float
    support: tuple[float, ...]


@lru_cache(maxsize=65536)
def _case_test(changes: tuple[DimensionChange, ...], direction: Direction) -> _CaseTest:
    if direction == "worse":
        pairs = [(c.p_worse, c.worse_support) for c in changes]
    else:
        pairs = [(c.p_better, c.better_support) for c in changes]

    def size(t: float) -> float:  # discrete Bonferroni: sum of each dimension's chance
        return min(1.0, sum(_at_most(s, t) for _, s in pairs))

    points = sorted({v for _, s in pairs for v in s})
    support = tuple(sorted({size(v) for v in points} | {1.0}))
    return _CaseTest(size(min(p for p, _ in pairs)), support)


def _step_up(tests: Sequence[_CaseTest], alpha: float) -> tuple[list[int], float]:
    """Discrete Benjamini-Hochberg step-up ([HSU], Döhler, Durand & Roquain 2018, eq. 10).

    tau_m = the largest support point t with sum_j F_j(t) / (1 - F_j(t)) <= m * alpha, then
    tau_k = the largest t <= tau_m with sum_j F_j(t) / (1 - F_j(tau_m)) <= k * alpha; reject
    the r smallest p-values, r the largest k with p_(k) <= tau_k. F_j(t) is the exact chance
    that case j reaches t. Cases that can reach nothing below 1 are left out first: given
    the pooled grades they can never be rejected, so they must not take a share.

    Returns the indices rejected and the case-level threshold that applied (tau_r, or tau_1
    when nothing was rejected: what a single case would have needed)."""
    live = [j for j, t in enumerate(tests) if t.support[0] < 1.0]
    m = len(live)
    if not m:
        return [], 0.0

    def ratio(f: float, g: float) -> float:
        return math.inf if g >= 1.0 else f / (1.0 - g)

    def xi(t: float) -> float:
        total = 0.0
        for j in live:
            f = _at_most(tests[j].support, t)
            total += ratio(f, f)
        return total

    points = sorted({v for j in live for v in tests[j].support})
    lo, hi = 0, len(points)  # the first point with xi > m * alpha (xi is non-decreasing)
    while lo < hi:
        mid = (lo + hi) // 2
        if xi(points[mid]) <= m * alpha:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return [], 0.0
    tau_m = points[lo - 1]
    at_tau = {j: _at_most(tests[j].support, tau_m) for j in live}

    def tau(k: int) -> float:
        """tau_k, by bisection over the support points <= tau_m."""
        usable = points[:lo]
        a, b = 0, len(usable)
        while a < b:
            mid = (a + b) // 2
            t = usable[mid]
            if sum(ratio(_at_most(tests[j].support, t), at_tau[j]) for j in live) <= k * alpha:
                a = mid + 1
            else:
                b = mid
        return usable[a - 1] if a else 0.0

    order = sorted(live, key=lambda j: tests[j].p)
    for k in range(m, 0, -1):
        p = tests[order[k - 1]].p
        if p > tau_m:
            continue
        spent = sum(ratio(_at_most(tests[j].support, p), at_tau[j]) for j in live)
        if spent <= k * alpha:
            return order[:k], tau(k)
    return [], tau(1)


@dataclass(frozen=True)
class CaseVerdict:
    """One case of the run: worse, better or same, and which dimensions moved."""

    case_id: str
    change: Direction
    worse: tuple[str, ...] = ()  # dimensions found worse
    better: tuple[str, ...] = ()
    p_worse: float = 1.0  # the case's p-value (step 2); 0 or 1 with one sample each side
    p_better: float = 1.0
    deterministic: bool = False  # K=1 on both sides: any lower grade counts
    dimensions: Mapping[str, DimensionChange] = field(default_factory=dict)


@dataclass(frozen=True)
class RunVerdict:
    """The cases of one run judged together (step 3)."""

    cases: Mapping[str, CaseVerdict]
    alpha: float  # the level the run was judged at
    worse_threshold: float  # a case needed a p_worse at or below this to be worse
    blind: tuple[str, ...] = ()  # cases whose K and K' are too small to ever be called worse
    advice: str = ""

    @property
    def worse(self) -> tuple[str, ...]:
        return tuple(c for c, v in self.cases.items() if v.change == "worse")

    @property
    def better(self) -> tuple[str, ...]:
        return tuple(c for c, v in self.cases.items() if v.change == "better")

    @property
    def passed(self) -> bool:
        """The gate: no case worse."""
        return not self.worse


def _deterministic_case(case_id: str, dims: Mapping[str, DimensionChange]) -> CaseVerdict:
    """Exactly the single-sample rule: any lower grade is worse, any higher better."""
    worse = tuple(n for n, c in dims.items() if c.direction == "worse")
    better = tuple(n for n, c in dims.items() if c.direction == "better")
    change: Direction = "worse" if worse else "better" if better else "same"
    return CaseVerdict(case_id, change, worse, better, 0.0 if worse else 1.0,
                       0.0 if better else 1.0, True, dict(dims))


def _blind(dims: Mapping[str, DimensionChange], alpha: float) -> bool:
    """Even a total collapse (every baseline sample above every run sample), alone in the
    run, could not be called worse: 1 / C(K' + K, K) above the largest threshold the step-up
    can give one case, alpha / (1 + alpha)."""
    c = next(iter(dims.values()))
    return 1 / math.comb(c.old.samples + c.new.samples, c.new.samples) > alpha / (1 + alpha)


def judge_run(
    results: Mapping[str, Mapping[str, DimensionChange]], *, alpha: float = ALPHA,
    case_alpha: float = CASE_ALPHA, temperature: float = 0.0,
) -> RunVerdict:
    """Every case of one run, `results[case_id][dimension]`, judged together.

    The level is min(alpha, case_alpha * cases compared with repeats): 5% for the run, but
    never more than 1% per case in a run of fewer than five. Cases with one sample on each
    side follow the deterministic rule and take no share."""
    if not 0 < alpha < 1 or not 0 < case_alpha < 1:
        raise ValueError("alpha and case_alpha must be between 0 and 1")
    verdicts: dict[str, CaseVerdict] = {}
    ids = [c for c, dims in results.items() if dims]
    single = [c for c in ids if all(d.deterministic for d in results[c].values())]
    repeated = [c for c in ids if c not in single]
    for case_id in results:
        if not results[case_id]:
            verdicts[case_id] = CaseVerdict(case_id, "same")
        elif case_id in single:
            verdicts[case_id] = _deterministic_case(case_id, results[case_id])
    level = min(alpha, case_alpha * max(1, len(repeated)))
    tests = {d: [_case_test(tuple(results[c].values()), d) for c in repeated]
             for d in ("worse", "better")}
    worse_ids, threshold = _step_up(tests["worse"], level) if repeated else ([], 0.0)
    better_ids, better_threshold = _step_up(tests["better"], level) if repeated else ([], 0.0)
    for i, case_id in enumerate(repeated):
        dims = results[case_id]
        moved = {
            direction: tuple(n for n, c in dims.items() if _dimension_size(dims, c, direction)
                             <= cut) if i in chosen else ()
            for direction, chosen, cut in (("worse", worse_ids, threshold),
                                           ("better", better_ids, better_threshold))
        }
        change: Direction = ("worse" if moved["worse"] else
                             "better" if moved["better"] else "same")
        verdicts[case_id] = CaseVerdict(case_id, change, moved["worse"], moved["better"],
                                        tests["worse"][i].p, tests["better"][i].p, False,
                                        dict(dims))
    blind = tuple(c for c in repeated if _blind(results[c], level))
    advice = _advice(temperature, single, blind, repeated)
    ordered = {c: verdicts[c] for c in results}
    return RunVerdict(ordered, level, threshold, blind, advice)


def _dimension_size(dims: Mapping[str, DimensionChange], change: DimensionChange,
                    direction: Direction) -> float:
    """The case p-value this dimension's own p-value would give (step 2 at its p)."""
    p = change.p_worse if direction == "worse" else change.p_better
    supports = [c.worse_support if direction == "worse" else c.better_support
                for c in dims.values()]
    return min(1.0, sum(_at_most(s, p) for s in supports))


def _advice(temperature: float, single: Sequence[str], blind: Sequence[str],
            repeated: Sequence[str]) -> str:
    cases = len(single) + len(repeated)
    notes = []
    if temperature > 0 and single:
        notes.append(f"temperature {temperature:g} with one sample: a lower grade may be noise;"
                     f" record the baseline and run with --repeat"
                     f" {recommend_repeats(temperature, cases=cases)}")
    if blind:
        notes.append(f"{len(blind)} case(s) have too few samples to ever be called worse"
                     " (one sample against a repeated baseline, or three on each side):"
                     f" use --repeat {_collapse_k(cases)} or more for the baseline and the run")
    return "; ".join(notes)


def judge_case(old: Mapping[str, GradeCounts], new: Mapping[str, GradeCounts], *,
               case_id: str = "case", alpha: float = ALPHA,
               case_alpha: float = CASE_ALPHA) -> CaseVerdict:
    """One case on its own (a run of one case): every dimension in both, compared."""
    dims = {n: compare_dimension(old[n], new[n]) for n in old if n in new}
    return judge_run({case_id: dims}, alpha=alpha, case_alpha=case_alpha).cases[case_id]


def pass_hat_k(passes: int, samples: int, k: int) -> float:
    """pass^k: the chance that k samples all pass, estimated without bias from `passes` of
    `samples` (C(passes, k) / C(samples, k), as in tau-bench). Of a case: count the samples
    where every dimension passed. pass^1 is the pass rate; a case at 80% pass^1 is only
    at 33% pass^5: what a customer asking five times would see."""
    if not 0 <= passes <= samples or k < 0:
        raise ValueError(f"need 0 <= passes <= samples and k >= 0 (got {passes}, {samples}, {k})")
    if k > samples:
        raise ValueError(f"pass^{k} needs at least {k} samples (got {samples})")
    return math.comb(passes, k) / math.comb(samples, k)


def _noisy_level(cases: int, alpha: float = ALPHA) -> float:
    """The p-value a dimension may need when every dimension of every case is noisy: the
    run's level shared by four dimensions of each case."""
    cases = max(1, cases)
    return min(alpha, CASE_ALPHA * cases) / (4 * cases)


def _collapse_k(cases: int, alpha: float = ALPHA, baseline: int | None = None) -> int:
    """The smallest K at which a total collapse, 1 / C(K' + K, K), clears that level
    (K' = K unless the baseline's K' is given)."""
    level, k = _noisy_level(cases, alpha), 1 if baseline else 2
    while 1 / math.comb((baseline or k) + k, k) > level:
        k += 1
    return k


def recommend_repeats(
    temperature: float, *, cases: int = 50, baseline: int | None = None,
    drop: tuple[float, float] = (1.0, 0.0), power: float = 0.8, alpha: float = ALPHA,
    partial: float = 0.4,
) -> int:
    """How many samples per case the run should ask for: K, with K' = K in the baseline, or
    with the baseline's K' if given (a baseline recorded once with many samples lets each
    run ask fewer).

    Temperature 0: one (a deterministic model gives the same reply every time). Above it,
    the smallest K such that, at the level a dimension may need when every dimension of
    every case of a run of `cases` is noisy (the run's level over 4 * cases):
    (a) a collapse (every baseline sample above every run sample) can clear it,
    1 / C(K' + K, K) <= level, and (b) one dimension dropping from a pass rate of drop[0] to
    drop[1] is caught with about `power` (normal approximation of the mean grade, `partial`
    of the non-passes partial). The default drop, 100% -> 0%, asks only (a): 8 for 50 cases
    (4 against a baseline of 20). A drop from 90% to 50% asks 47. docs/repeats.md has the
    simulated power of each K; raises ValueError if no K can do it against that baseline."""
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if temperature == 0:
        return 1
    level = _noisy_level(cases, alpha)
    k = _collapse_k(cases, alpha, baseline)

    def moments(rate: float) -> tuple[float, float]:
        half = (1 - rate) * partial
        mean = rate + half / 2
        return mean, rate + half / 4 - mean * mean

    (m0, v0), (m1, v1) = moments(drop[0]), moments(drop[1])
    if m0 > m1 and v0 + v1 > 0:
        z = NormalDist().inv_cdf(1 - level) + NormalDist().inv_cdf(power)
        room = (m0 - m1) ** 2 / (z * z)  # the variance of the difference that is allowed
        if baseline is None:
            k = max(k, math.ceil((v0 + v1) / room))
        elif room <= v0 / baseline:
            raise ValueError(f"a baseline of {baseline} samples is too noisy for that drop:"
                             " record it with more")
        else:
            k = max(k, math.ceil(v1 / (room - v0 / baseline)))
    return k
