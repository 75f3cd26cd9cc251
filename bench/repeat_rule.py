"""Simulate the repeat rule (harness/regression/repeats.py): false alarms, power, the gate.

    python bench/repeat_rule.py [--reps 2000] [--alone 20000] [--seed 7] [--partial 0.4]
                                [--jobs 2] [--quick]
    python bench/repeat_rule.py --gate 8,8 10,10 5,20 --reps 20000

The second form only checks the gate: --reps unchanged suite-mix runs of 50 cases for each
K,K' given, and the chance that they fail, with its standard error.

Every case is judged by the real rule (`judge_run`) on grades drawn at random: each sample of
a dimension passes with its true pass rate, `--partial` of the samples that do not pass are
partial (0.4, a realistic share), the rest fail; a case's four dimensions are drawn
independently. K samples in the run, K' in the baseline (K' = K unless shown). Each cell has
its own seed (from --seed), so a cell's numbers do not depend on --jobs.

- Table 1, unchanged cases at each true pass rate: false alarms per dimension and per case,
  the case judged alone (a run of one case) and in a run of 50 cases all at that pass rate
  (every case as noisy as this one: the hardest run for the gate), and the chance that the
  50-case run fails the gate. The old rule (Wilson; the deterministic rule at K=1) beside it.
- Table 2, one dimension of one case really drops, everything else unchanged and drawn from
  the "suite mix" (each dimension's pass rate one of 50, 60, ..., 100%: with one sample this
  mix calls about 55% of unchanged cases worse, like the 7 of 11 measured at temperature
  0.8): the power to call that case worse, alone and in a 50-case run.
- Table 3, suite-mix runs of 50 cases: the chance an unchanged run fails the gate, and, with
  5 of the 50 really dropping 90% -> 50% on one dimension, the share of false alarms among
  the cases called worse (the false-discovery proportion) and how many of the 5 are found.

numpy draws the grades when installed (the rule itself needs nothing beyond the stdlib).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.regression.repeats import (
    GradeCounts,
    RunVerdict,
    compare_dimension,
    judge_run,
)

try:
    import numpy as np
except ImportError:  # pragma: no cover - the stdlib fallback
    np = None

DIMENSIONS = ("accuracy", "relevance", "tone", "resolution")
RATES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MIX = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CASES = 50
NULL_KS = ((1, 1), (3, 3), (5, 5), (10, 10), (5, 20))
POWER_KS = ((1, 1), (3, 3), (5, 5), (8, 8), (10, 10), (5, 20), (10, 40), (20, 20), (20, 60),
            (30, 30), (50, 50))
Probs = tuple[float, float, float]
Pair = tuple[GradeCounts, GradeCounts]


def grades(rate: float, partial: float) -> Probs:
    """(pass, partial, fail) probabilities of one sample."""
    return rate, (1 - rate) * partial, (1 - rate) * (1 - partial)


def scenarios(partial: float) -> list[tuple[str, Probs, Probs]]:
    return [
        ("90% -> 50% pass", grades(0.9, partial), grades(0.5, partial)),
        ("70% -> 30% pass", grades(0.7, partial), grades(0.3, partial)),
        ("60% pass kept, partials -> fails", (0.6, 0.4, 0.0), (0.6, 0.0, 0.4)),
        ("100% -> 0% pass", (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ]


class Draw:
    """Grade counts drawn at random, interned so that the rule's caches hit."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed) if np is not None else random.Random(seed)
        self.interned: dict[tuple[int, int, int], GradeCounts] = {}

    def counts(self, k: int, probs: Probs, size: int) -> list[GradeCounts]:
        if np is not None:
            rows = self.rng.multinomial(k, probs, size=size).tolist()
        else:
            rows = []
            for _ in range(size):
                picks = self.rng.choices((0, 1, 2), weights=probs, k=k)
                rows.append([picks.count(0), picks.count(1), picks.count(2)])
        out = []
        for a, b, c in rows:
            key = (a, b, c)
            if key not in self.interned:
                self.interned[key] = GradeCounts(a, b, c)
            out.append(self.interned[key])
        return out

    def mix_rate(self) -> float:
        if np is not None:
            return MIX[int(self.rng.integers(len(MIX)))]
        return self.rng.choice(MIX)

    def case(self, k_new: int, k_old: int, before: Probs, after: Probs) -> list[Pair]:
        olds, news = self.counts(k_old, before, 4), self.counts(k_new, after, 4)
        return list(zip(olds, news, strict=True))

    def mixed_case(self, k_new: int, k_old: int, partial: float,
                   dropped: tuple[str, Probs, Probs] | None = None) -> list[Pair]:
        """A suite-mix case; with `dropped`, its first dimension really dropped."""
        dims = []
        for d in range(4):
            if dropped is not None and d == 0:
                before, after = dropped[1], dropped[2]
            else:
                before = after = grades(self.mix_rate(), partial)
            dims.append((self.counts(k_old, before, 1)[0], self.counts(k_new, after, 1)[0]))
        return dims


def judge(cases: Sequence[Sequence[Pair]]) -> RunVerdict:
    """The real rule on one run: case i is "c<i>"."""
    return judge_run({f"c{i}": {d: compare_dimension(o, n)
                                for d, (o, n) in zip(DIMENSIONS, dims, strict=True)}
                      for i, dims in enumerate(cases)})


def wilson_low(rate: float, samples: int, z: float = 1.96) -> float:
    """The old rule's bound (harness/regression/compare.py, wilson_interval)."""
    centre = rate + z * z / (2 * samples)
    spread = z * math.sqrt(rate * (1 - rate) / samples + z * z / (4 * samples * samples))
    return max(0.0, (centre - spread) / (1 + z * z / samples))


def old_rule_worse(old: GradeCounts, new: GradeCounts) -> bool:
    """Before: with one sample each side any lower grade; with repeats the pass rate below
    the lower Wilson bound of the baseline's."""
    if old.samples == 1 and new.samples == 1:
        return new.mean < old.mean
    return new.pass_rate < wilson_low(old.pass_rate, old.samples)


# -- the cells --------------------------------------------------------------------------------


def null_cell(seed: int, k_new: int, k_old: int, rate: float, reps: int, alone: int,
              partial: float) -> list[str]:
    draw, probs = Draw(seed), grades(rate, partial)
    old_dim = old_case = new_dim = new_case = 0
    for _ in range(alone):
        case = draw.case(k_new, k_old, probs, probs)
        hits = [old_rule_worse(o, n) for o, n in case]
        old_dim, old_case = old_dim + sum(hits), old_case + any(hits)
        verdict = judge([case]).cases["c0"]
        new_dim, new_case = new_dim + len(verdict.worse), new_case + (verdict.change == "worse")
    in_run = failed = old_failed = 0
    for _ in range(reps):
        cases = [draw.case(k_new, k_old, probs, probs) for _ in range(CASES)]
        verdict = judge(cases)
        in_run, failed = in_run + len(verdict.worse), failed + (not verdict.passed)
        old_failed += any(old_rule_worse(o, n) for case in cases for o, n in case)
    return [_k(k_new, k_old), f"{rate:.0%}", _pct(old_dim / (4 * alone)), _pct(old_case / alone),
            _pct(old_failed / reps), _pct(new_dim / (4 * alone)), _pct(new_case / alone),
            _pct(in_run / (CASES * reps)), _pct(failed / reps)]


def power_cell(seed: int, k_new: int, k_old: int, reps: int, alone: int,
               partial: float) -> list[str]:
    draw, row = Draw(seed), [_k(k_new, k_old)]
    for scenario in scenarios(partial):
        found_alone = sum(
            judge([draw.mixed_case(k_new, k_old, partial, scenario)]).cases["c0"].change
            == "worse" for _ in range(alone))
        found = 0
        for _ in range(reps):
            cases = [draw.mixed_case(k_new, k_old, partial, scenario)]
            cases += [draw.mixed_case(k_new, k_old, partial) for _ in range(CASES - 1)]
            found += judge(cases).cases["c0"].change == "worse"
        row.append(f"{_pct(found_alone / alone)} / {_pct(found / reps)}")
    return row


def suite_cell(seed: int, k_new: int, k_old: int, reps: int, partial: float) -> list[str]:
    draw, drop = Draw(seed), scenarios(partial)[0]
    failed = per_case = found = 0
    false_share = 0.0
    for _ in range(reps):
        verdict = judge([draw.mixed_case(k_new, k_old, partial) for _ in range(CASES)])
        failed, per_case = failed + (not verdict.passed), per_case + len(verdict.worse)
        cases = [draw.mixed_case(k_new, k_old, partial, drop) for _ in range(5)]
        cases += [draw.mixed_case(k_new, k_old, partial) for _ in range(CASES - 5)]
        called = judge(cases).worse
        false = sum(int(c[1:]) >= 5 for c in called)
        false_share += false / len(called) if called else 0.0
        found += len(called) - false
    return [_k(k_new, k_old), _pct(failed / reps), _pct(per_case / (CASES * reps)),
            _pct(false_share / reps), f"{found / reps:.2f}"]


def gate_cell(seed: int, k_new: int, k_old: int, reps: int, partial: float) -> list[str]:
    draw, failed = Draw(seed), 0
    for _ in range(reps):
        failed += not judge([draw.mixed_case(k_new, k_old, partial) for _ in range(CASES)]).passed
    rate = failed / reps
    return [_k(k_new, k_old), str(reps), f"{rate:.2%} ± {math.sqrt(rate * (1 - rate) / reps):.2%}"]


def _call(job: tuple) -> list[str]:
    name, args = job
    cells = {"null": null_cell, "power": power_cell, "suite": suite_cell, "gate": gate_cell}
    return cells[name](*args)


# -- output -----------------------------------------------------------------------------------


def _k(k_new: int, k_old: int) -> str:
    return f"{k_new}" if k_new == k_old else f"{k_new}, K'={k_old}"


def _pct(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:.2%}" if x < 0.1 else f"{x:.1%}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---:" for _ in headers) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _pair(text: str) -> tuple[int, int]:
    k_new, _, k_old = text.partition(",")
    return int(k_new), int(k_old or k_new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="50-case runs per cell")
    parser.add_argument("--alone", type=int, default=20000, help="single cases per cell")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partial", type=float, default=0.4,
                        help="share of the samples that do not pass that are partial")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    parser.add_argument("--quick", action="store_true", help="a tenth of the repetitions")
    parser.add_argument("--gate", nargs="+", type=_pair, metavar="K,K'",
                        help="only check the gate of unchanged suite-mix runs, for these K,K'")
    args = parser.parse_args(argv)
    command = " ".join(["python bench/repeat_rule.py", *(sys.argv[1:] if argv is None
                                                         else argv)])
    reps, alone = (args.reps // 10, args.alone // 10) if args.quick else (args.reps, args.alone)
    jobs: list[tuple] = []
    if args.gate:
        jobs = [("gate", (k_new, k_old, reps, args.partial)) for k_new, k_old in args.gate]
    else:
        for k_new, k_old in NULL_KS:
            for rate in RATES:
                jobs.append(("null", (k_new, k_old, rate, reps, alone, args.partial)))
        for k_new, k_old in POWER_KS:
            jobs.append(("power", (k_new, k_old, reps // 4, alone // 4, args.partial)))
        for k_new, k_old in POWER_KS:
            jobs.append(("suite", (k_new, k_old, reps // 2, args.partial)))
    jobs = [(name, (args.seed * 1000 + i, *rest)) for i, (name, rest) in enumerate(jobs)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(_call, jobs))
    seconds = time.perf_counter() - start
    print(f"`{command}`: seed {args.seed}; partials are {args.partial:.0%} of the samples that"
          f" do not pass; {seconds:.0f} s.\n")
    if args.gate:
        print(f"Unchanged suite-mix runs of {CASES} cases: the chance the gate fails\n")
        print(table(["K", "runs", "run fails"], rows))
        return 0
    null_rows = [r for (name, _), r in zip(jobs, rows, strict=True) if name == "null"]
    power_rows = [r for (name, _), r in zip(jobs, rows, strict=True) if name == "power"]
    suite_rows = [r for (name, _), r in zip(jobs, rows, strict=True) if name == "suite"]
    print(f"Table 1. Unchanged cases: false alarms ({alone} single cases and {reps} runs of"
          f" {CASES} cases per row)\n")
    print(table(["K", "pass rate", "old: per dim", "old: per case", "old: 50-case run fails",
                 "new: per dim, alone", "new: per case, alone", "new: per case, in 50",
                 "new: 50-case run fails"], null_rows))
    print(f"\nTable 2. One dimension of one case really drops: chance the case is called"
          f" worse, alone / in a {CASES}-case suite-mix run ({alone // 4} single cases and"
          f" {reps // 4} runs per cell)\n")
    print(table(["K", *[s[0] for s in scenarios(args.partial)]], power_rows))
    print(f"\nTable 3. Suite-mix runs of {CASES} cases ({reps // 2} runs per row, each twice:"
          " unchanged, and with 5 cases dropping 90% -> 50% on one dimension)\n")
    print(table(["K", "unchanged run fails", "per case", "false share of worse calls",
                 "of the 5 dropped, found"], suite_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
