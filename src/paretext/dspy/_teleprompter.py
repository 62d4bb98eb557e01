"""``paretext.dspy.GEPA``: dspy.GEPA's constructor and ``compile``, on paretext's engine.

Options map onto paretext's typed configs once, here; an option paretext does
not support raises a :class:`~paretext.errors.ConfigError` naming it (never
silently ignored).  See ``docs/from-dspy.md`` for the table.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import dspy
from dspy.teleprompt import Teleprompter

from .._config import Budget, EngineConfig, MergeConfig, ReflectionConfig, StopConfig
from .._types import Proposal
from ..adapters import recorded_feedback
from ..api import optimize
from ..engine import Commit, ComponentSelector, EngineObserver, RunSnapshot
from ..errors import ConfigError
from ..lm import LM
from ._lm import DspyLM
from ._program import DspyProgram, fresh_module, jsonable
from ._reflect import DspyReflection
from ._result import detailed_results

__all__ = ["GEPA", "auto_budget"]

#: Candidates dspy.GEPA's ``auto`` presets plan for.
AUTO_CANDIDATES = {"light": 6, "medium": 12, "heavy": 18}
SELECTORS = {"pareto": "pareto", "current_best": "best"}


def auto_budget(
    n_predictors: int, n_candidates: int, n_val: int, minibatch: int = 35, full_every: int = 5
) -> int:
    """dspy.GEPA's metric-call budget for an ``auto`` preset (the same arithmetic).

    The seed's validation, five bootstrap trials per candidate, ``trials``
    minibatches, and a full validation every ``full_every`` trials (one more at
    the end when there are fewer trials than that).
    """
    trials = int(max(4 * n_predictors * math.log2(n_candidates), 1.5 * n_candidates))
    total = n_val + 5 * n_candidates + trials * minibatch
    if trials == 0:
        return total
    fulls = (trials + 1) // full_every + 1 + (1 if trials < full_every else 0)
    return total + fulls * n_val


def _refuse(**given: Any) -> None:
    used = sorted(name for name, value in given.items() if value)
    if used:
        raise ConfigError(
            f"paretext.dspy.GEPA does not support {', '.join(used)}; "
            "see docs/from-dspy.md for what maps and what does not"
        )


class _Discovery(EngineObserver):
    """Rollouts committed when each candidate joined the pool (``discovery_eval_counts``).

    A resumed run replays every commit, so the last snapshot holds them all.
    """

    def __init__(self) -> None:
        self.commits: tuple[Commit, ...] = ()

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        self.commits = snapshot.commits

    @property
    def counts(self) -> dict[str, int]:
        return {c.candidate: c.rollouts for c in self.commits if c.candidate and c.accepted}


class GEPA(Teleprompter):  # type: ignore[misc]
    """A drop-in for ``dspy.GEPA``: the same constructor and ``compile``, paretext underneath.

    The metric follows dspy.GEPA's contract, ``metric(gold, pred, trace, pred_name,
    pred_trace)`` returning a float or ``dspy.Prediction(score=..., feedback=...)``;
    it is called once per example to score it and again per predictor (with
    ``pred_name``) for the feedback reflection on that predictor reads.  Every
    predictor's instruction is a component.  DSPy runs the program with the user's
    ``dspy.LM`` and settings; paretext brings the exact budget (``max_metric_calls``
    is never exceeded), several proposals in flight, and a run store: compiling
    again with the same ``log_dir`` resumes exactly and pays for nothing twice.

    paretext's own extras: ``proposals_in_flight`` (see ``EngineConfig``) and
    ``stop`` (a ``StopConfig``).
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        auto: Literal["light", "medium", "heavy"] | None = None,
        max_full_evals: int | None = None,
        max_metric_calls: int | None = None,
        reflection_minibatch_size: int = 3,
        candidate_selection_strategy: Literal["pareto", "current_best"] = "pareto",
        reflection_lm: Any = None,
        skip_perfect_score: bool = True,
        add_format_failure_as_feedback: bool = True,
        instruction_proposer: Any = None,
        code_proposer: Any = None,
        component_selector: Any = "round_robin",
        use_merge: bool = True,
        max_merge_invocations: int | None = 5,
        num_threads: int | None = None,
        failure_score: float = 0.0,
        perfect_score: float = 1.0,
        log_dir: str | None = None,
        track_stats: bool = False,
        use_wandb: bool = False,
        wandb_api_key: str | None = None,
        wandb_init_kwargs: dict[str, Any] | None = None,
        track_best_outputs: bool = False,
        warn_on_score_mismatch: bool = True,
        use_mlflow: bool = False,
        seed: int | None = 0,
        gepa_kwargs: dict[str, Any] | None = None,
        proposals_in_flight: int | None = None,
        stop: StopConfig | None = None,
    ) -> None:
        super().__init__()
        try:
            inspect.signature(metric).bind(None, None, None, None, None)
        except TypeError:
            raise ConfigError(
                "the metric must accept five arguments: (gold, pred, trace, pred_name, pred_trace)"
            ) from None
        _refuse(
            instruction_proposer=instruction_proposer is not None,
            code_proposer=code_proposer is not None,
            use_wandb=use_wandb,
            wandb_api_key=wandb_api_key,
            wandb_init_kwargs=wandb_init_kwargs,
            use_mlflow=use_mlflow,
            gepa_kwargs=gepa_kwargs,
        )
        chosen = [
            n
            for n, v in (
                ("auto", auto),
                ("max_full_evals", max_full_evals),
                ("max_metric_calls", max_metric_calls),
            )
            if v is not None
        ]
        if len(chosen) != 1:
            raise ConfigError(
                "set exactly one of auto, max_full_evals, max_metric_calls "
                f"(got {', '.join(chosen) or 'none'})"
            )
        if auto is not None and auto not in AUTO_CANDIDATES:
            raise ConfigError(f"auto must be one of {sorted(AUTO_CANDIDATES)}, got {auto!r}")
        if candidate_selection_strategy not in SELECTORS:
            raise ConfigError(
                f"candidate_selection_strategy must be one of {sorted(SELECTORS)}, "
                f"got {candidate_selection_strategy!r}"
            )
        if not (
            component_selector in ("round_robin", "all")
            or isinstance(component_selector, ComponentSelector)
        ):
            raise ConfigError(
                "component_selector must be 'round_robin', 'all' or a paretext "
                f"ComponentSelector; gepa selector objects are not supported (got "
                f"{type(component_selector).__name__})"
            )
        if reflection_lm is None:
            raise ConfigError("reflection_lm is required: a dspy.LM (or a paretext LM)")
        if track_best_outputs and not track_stats:
            raise ConfigError("track_best_outputs needs track_stats=True (as in dspy.GEPA)")
        if not 0 <= failure_score <= perfect_score:
            raise ConfigError(f"failure_score must lie in [0, perfect_score], got {failure_score}")
        self.metric_fn = metric
        self.auto = auto
        self.max_full_evals = max_full_evals
        self.max_metric_calls = max_metric_calls
        self.reflection_lm = reflection_lm
        self.add_format_failure_as_feedback = add_format_failure_as_feedback
        self.num_threads = num_threads
        self.failure_score = failure_score
        self.log_dir = log_dir
        self.track_stats = track_stats
        self.track_best_outputs = track_best_outputs
        self.warn_on_score_mismatch = warn_on_score_mismatch
        self.seed = 0 if seed is None else seed
        self.max_merge_invocations = max_merge_invocations
        self.reflection = ReflectionConfig(
            minibatch_size=reflection_minibatch_size,
            components=component_selector,
            skip_perfect=skip_perfect_score,
        )
        self.engine_options: dict[str, Any] = {
            "seed": self.seed,
            "selector": SELECTORS[candidate_selection_strategy],
            "perfect_score": perfect_score,
        }
        if proposals_in_flight is not None:
            self.engine_options["proposals_in_flight"] = proposals_in_flight
        self.use_merge = use_merge
        self.stop = stop

    def _metric_calls(self, n_components: int, n_train: int, n_val: int | None) -> int:
        if self.auto is not None:
            return auto_budget(
                max(n_components, 1),
                AUTO_CANDIDATES[self.auto],
                n_train if n_val is None else n_val,
            )
        if self.max_full_evals is not None:
            return int(self.max_full_evals * (n_train + (n_val or 0)))
        assert self.max_metric_calls is not None
        return int(self.max_metric_calls)

    def compile(
        self,
        student: Any,
        *,
        trainset: Sequence[Any],
        teacher: Any = None,
        valset: Sequence[Any] | None = None,
    ) -> Any:
        """Optimize every predictor's instruction; returns a new module (``student`` untouched)."""
        if teacher is not None:
            raise ConfigError("paretext.dspy.GEPA does not support teacher (dspy.GEPA neither)")
        if not trainset:
            raise ConfigError("trainset must be a non-empty list of dspy.Example")
        flex = getattr(dspy, "Flex", None)
        if flex is not None and any(isinstance(m, flex) for _, m in student.named_sub_modules()):
            raise ConfigError("dspy.Flex code components are not supported by paretext.dspy")
        predictors = list(student.named_predictors())
        if not predictors:
            raise ConfigError("the student has no predictors to optimize")
        train = {f"train-{i}": ex for i, ex in enumerate(trainset)}
        val = None if valset is None else {f"val-{i}": ex for i, ex in enumerate(valset)}
        rollouts = self._metric_calls(
            len(predictors), len(train), None if val is None else len(val)
        )
        settings = {k: v for k, v in dspy.settings.config.items() if k != "trace"}
        threads = self.num_threads or int(dspy.settings.num_threads)
        program = DspyProgram(
            student,
            {**train, **(val or {})},
            self.metric_fn,
            failure_score=self.failure_score,
            threads=threads,
            settings=settings,
        )
        proposer = DspyReflection(
            self.reflection,
            program,
            self.metric_fn,
            seed=self.seed,
            format_failures=self.add_format_failure_as_feedback,
            warn_on_score_mismatch=self.warn_on_score_mismatch,
        )
        merges = rollouts if self.max_merge_invocations is None else self.max_merge_invocations
        discovery = _Discovery()
        reflection_lm = self.reflection_lm
        if not isinstance(reflection_lm, LM | str):
            reflection_lm = DspyLM(reflection_lm)
        try:
            result = optimize(
                {name: p.signature.instructions for name, p in predictors},
                program,
                recorded_feedback,
                _payloads(train),
                None if val is None else _payloads(val),
                reflection_lm=reflection_lm,
                budget=Budget(rollouts=rollouts),
                run=self.log_dir,
                engine=EngineConfig(concurrency=threads, **self.engine_options),
                reflection=self.reflection,
                merge=MergeConfig(enabled=self.use_merge and merges > 0, max_merges=merges),
                stop=self.stop,
                observer=discovery,
                proposer=proposer,
            )
        finally:
            program.close()
        best = fresh_module(student, result.best.components)
        if self.track_stats:
            best.detailed_results = detailed_results(
                result,
                lambda components: fresh_module(student, components),
                list(val or train),
                discovery=discovery.counts,
                best_outputs=self.track_best_outputs,
                seed=self.seed,
            )
        return best


def _payloads(examples: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the engine stores per example: JSON, so the run's fingerprint is stable."""
    out = []
    for example_id, ex in examples.items():
        inputs = ex.inputs().toDict()
        labels = {k: v for k, v in ex.toDict().items() if k not in inputs}
        out.append({"id": example_id, "inputs": jsonable(inputs), "labels": jsonable(labels)})
    return out
