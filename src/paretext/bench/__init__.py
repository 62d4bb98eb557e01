"""``paretext bench``: optimizers × tasks × seeds at one rollout budget, on the same engine.

>>> from paretext.bench import BenchConfig, run_bench
>>> result = run_bench(BenchConfig(optimizers=("gepa", "opro"), seeds=(0,), budget=100),
...                    Path("benchmarks/results/mine"))
>>> result.summary   # test score mean ± std, rollouts, wall time, tokens, cost per optimizer

Every optimizer is a :mod:`paretext.baselines` configuration, so the rollout
budget, minibatch gate and run store are shared and the comparison is fair.
The command line prints a table and writes ``bench.json`` and ``bench.png``
(best validation score against rollouts), and ``bench.md``: the summary with 95% bootstrap
intervals and paired comparisons (:mod:`._stats`) with the command that reruns it.
"""

from __future__ import annotations

from ._cli import cli, comparison_table, markdown, summary_table, write_outputs
from ._core import (
    QUICK,
    BenchConfig,
    BenchObserver,
    BenchResult,
    ComparisonRow,
    RunRecord,
    SummaryRow,
    arun_bench,
    command,
    comparisons,
    read_runs,
    run_bench,
    solved_per_problem,
    summarize,
)
from ._evaluate import HeldOutScore, evaluate_candidate
from ._plot import curve_data, write_plot
from ._stats import Comparison, Interval, bootstrap_interval, compare, sign_test

__all__ = [
    "QUICK",
    "BenchConfig",
    "BenchObserver",
    "BenchResult",
    "Comparison",
    "ComparisonRow",
    "HeldOutScore",
    "Interval",
    "RunRecord",
    "SummaryRow",
    "arun_bench",
    "bootstrap_interval",
    "cli",
    "command",
    "compare",
    "comparison_table",
    "comparisons",
    "curve_data",
    "evaluate_candidate",
    "markdown",
    "read_runs",
    "run_bench",
    "sign_test",
    "solved_per_problem",
    "summarize",
    "summary_table",
    "write_outputs",
    "write_plot",
]
