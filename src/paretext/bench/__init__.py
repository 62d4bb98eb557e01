"""``paretext bench``: optimizers × tasks × seeds at one rollout budget, on the same engine.

>>> from paretext.bench import BenchConfig, run_bench
>>> result = run_bench(BenchConfig(optimizers=("gepa", "opro"), seeds=(0,), budget=100),
...                    Path("benchmarks/results/mine"))
>>> result.summary   # test score mean ± std, rollouts, wall time, tokens, cost per optimizer

Every optimizer is a :mod:`paretext.baselines` configuration, so the rollout
budget, minibatch gate and run store are shared and the comparison is fair.
The command line prints a table and writes ``bench.json`` and ``bench.png``
(best validation score against rollouts).
"""

from __future__ import annotations

from ._cli import cli, summary_table, write_outputs
from ._core import (
    QUICK,
    BenchConfig,
    BenchObserver,
    BenchResult,
    RunRecord,
    SummaryRow,
    arun_bench,
    run_bench,
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
    "HeldOutScore",
    "Interval",
    "RunRecord",
    "SummaryRow",
    "arun_bench",
    "bootstrap_interval",
    "cli",
    "compare",
    "curve_data",
    "evaluate_candidate",
    "run_bench",
    "sign_test",
    "summarize",
    "summary_table",
    "write_outputs",
    "write_plot",
]
