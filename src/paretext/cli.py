"""The ``paretext`` command line.  Thin: parse, call the public API, map errors to exit codes.

Exit codes (stable; scripts may rely on them):

====  ==========================================================================
0     success
1     the run failed (every evaluation failed, the reflection LM kept failing,
      an error in the user's code), or an unexpected error
2     usage or configuration error: bad flags, a task file that does not load
      or lacks a name, an unknown task, a missing optional extra
3     the run store is missing, unreadable or corrupt, or holds another run
130   interrupted (Ctrl-C / SIGTERM): the run stopped cleanly and can be resumed
====  ==========================================================================

Errors print as one line on stderr; ``paretext --debug COMMAND`` (or
``PARETEXT_DEBUG=1``) shows the traceback instead.

Other modules add commands through :data:`PLUGINS` (``bench``, ``demo``,
``models``): each entry names a ``typer.Typer`` (mounted as a command group)
or a plain function (mounted as one command).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import runpy
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
from rich.console import Console

from . import __version__
from ._config import (
    PRESET_PROPOSALS,
    Budget,
    EngineConfig,
    MergeConfig,
    ReflectionConfig,
    StopConfig,
)
from ._verdict import StopReason
from .errors import ConfigError, ParetextError, ProgramSignatureError, StoreError

if TYPE_CHECKING:
    from ._progress import Mode
    from ._types import Result

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "PLUGINS",
    "RunSettings",
    "app",
    "exit_on_errors",
    "main",
]

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_INTERRUPTED = 130

#: Commands that live in other modules: name -> "module:attribute".  A ``typer.Typer``
#: attribute becomes a command group (``paretext models list``), a function one command.
#: A module that is not there (yet) is skipped, so each can land on its own.
PLUGINS: dict[str, str] = {
    "bench": "paretext.bench:cli",
    "demo": "paretext.demo:cli",
    "models": "paretext.lm.models:cli",
    "optimize-artifact": "paretext.tasks.kernels._cli:cli",
    "serve": "paretext.service._cli:serve",
    "worker": "paretext.service._cli:worker",
    "tenant": "paretext.service._cli:tenant",
}

_EPILOG = (
    "Exit codes: 0 ok, 1 run failed, 2 usage or configuration error, "
    "3 run store missing or corrupt, 130 interrupted (resumable)."
)

app = typer.Typer(
    name="paretext",
    help="Optimize the text inside LLM systems with GEPA, and inspect the runs.",
    epilog=_EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class _Flags:
    debug: bool = False


_FLAGS = _Flags()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"paretext {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="PARETEXT_DEBUG", help="Show tracebacks instead of one-line errors."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Optimize the text inside LLM systems with GEPA, and inspect the runs."""
    _FLAGS.debug = debug


# -- errors --------------------------------------------------------------------------


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, StoreError):
        return EXIT_STORE
    if isinstance(exc, ConfigError | ProgramSignatureError):
        return EXIT_USAGE
    return EXIT_RUN_FAILED


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"paretext: error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def exit_on_errors() -> Iterator[None]:
    """Turn exceptions into one line on stderr and an exit code (or re-raise with --debug)."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except KeyboardInterrupt:
        raise _fail("interrupted", EXIT_INTERRUPTED) from None
    except ParetextError as exc:
        if _FLAGS.debug:
            raise
        raise _fail(str(exc), _exit_code(exc)) from None
    except Exception as exc:
        if _FLAGS.debug:
            raise
        hint = " (run `paretext --debug ...` for the traceback)"
        raise _fail(f"{type(exc).__name__}: {exc}{hint}", EXIT_RUN_FAILED) from None


# -- what a run was started with ----------------------------------------------------------

def _parse_budget(value: str) -> str | int:
    text = value.strip().lower()
    if text in PRESET_PROPOSALS:
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise typer.BadParameter(
        f"{value!r} is neither a preset ({', '.join(PRESET_PROPOSALS)}) nor a rollout count"
    )


def _check_budget(value: str | None) -> str | None:
    if value is not None:
        _parse_budget(value)
    return value


@dataclass(frozen=True)
class RunSettings:
    """What ``optimize`` needs to rebuild a run: stored in the run so ``resume`` repeats it."""

    source: str
    kind: str  # "file" or "task"
    budget: str | None = None  # None: the task file's budget, else "light"
    max_usd: float | None = None
    max_minutes: float | None = None
    task_lm: str | None = None
    reflection_lm: str | None = None
    concurrency: int | None = None  # None: the task file's engine, else 16
    seed: int | None = None
    train: int | None = None
    val: int | None = None
    ray: str | None = None  # a Ray address for the rollouts; "" is Ray's default
    perfect_score: float | None = None
    minibatch: int | None = None
    merge: bool | None = None

    def to_meta(self) -> dict[str, Any]:
        return {"format": 1, **asdict(self)}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], where: str) -> RunSettings:
        cli = meta.get("cli")
        if not isinstance(cli, Mapping):
            raise ConfigError(
                f"the run at {where} was not started by `paretext optimize`, so the command line "
                "cannot rebuild its program: resume it from Python with the same arguments and run="
            )
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in cli.items() if k in known})


@dataclass
class _Loaded:
    seed: Mapping[str, str] | str
    program: Any
    metric: Any
    trainset: Any
    valset: Any
    reflection_lm: Any
    configs: Mapping[str, Any] = field(default_factory=dict)


#: What a task file may define besides seed/program/metric/trainset, and its type.
_FILE_CONFIGS: dict[str, type] = {
    "engine": EngineConfig,
    "reflection": ReflectionConfig,
    "merge": MergeConfig,
    "stop": StopConfig,
    "budget": Budget,
}


def _is_file(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or Path(source).is_file()


def _load_file(settings: RunSettings) -> _Loaded:
    path = Path(settings.source)
    if not path.is_file():
        raise ConfigError(f"task file {path} does not exist")
    if settings.task_lm is not None:
        raise ConfigError(
            "--task-lm applies to built-in tasks; a task file defines its own program"
        )
    sys.path.insert(0, str(path.parent))
    try:
        names = runpy.run_path(str(path), run_name="__paretext_task__")
    except ParetextError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ConfigError(f"could not load {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(path.parent))
    missing = [n for n in ("seed", "program", "metric", "trainset") if n not in names]
    if missing:
        raise ConfigError(
            f"{path} must define {', '.join(missing)} (and may define valset, reflection_lm, "
            f"{', '.join(_FILE_CONFIGS)})"
        )
    configs = {k: names[k] for k in _FILE_CONFIGS if names.get(k) is not None}
    for key, value in configs.items():
        expected = _FILE_CONFIGS[key]
        if not isinstance(value, expected):
            raise ConfigError(
                f"{path} defines {key} as {type(value).__name__}; it must be a "
                f"paretext.{expected.__name__}"
            )
    reflection = settings.reflection_lm or names.get("reflection_lm")
    if reflection is None:
        raise ConfigError(
            f"no reflection LM: pass --reflection-lm MODEL or define reflection_lm in {path}"
        )
    valset = names.get("valset")
    return _Loaded(
        seed=names["seed"],
        program=names["program"],
        metric=names["metric"],
        trainset=names["trainset"],
        valset=valset,
        reflection_lm=reflection,
        configs=configs,
    )


def _load_task(settings: RunSettings) -> _Loaded:
    from .lm import resolve_lm
    from .tasks import get_task

    task = get_task(settings.source)
    if settings.task_lm is None:
        raise ConfigError(f"task {settings.source!r} needs a model to run: pass --task-lm MODEL")
    if settings.reflection_lm is None:
        raise ConfigError("pass --reflection-lm MODEL (the model that rewrites the prompts)")
    from .program import ChatProgram

    splits = task.load(settings.seed or 0, train=settings.train, val=settings.val)
    program = ChatProgram(
        resolve_lm(settings.task_lm), component=task.component, template=task.template,
        max_tokens=task.max_tokens,
    )
    return _Loaded(
        seed=dict(task.seed),
        program=program,
        metric=task.metric,
        trainset=list(splits.train),
        valset=list(splits.val),
        reflection_lm=settings.reflection_lm,
    )


def _budget(settings: RunSettings, file_budget: Budget | None) -> Budget:
    """The command line's limits over the task file's budget (``light`` when neither says)."""
    base = file_budget or Budget(rollouts="light")
    changes: dict[str, Any] = {}
    if settings.budget is not None:
        changes["rollouts"] = _parse_budget(settings.budget)
    if settings.max_usd is not None:
        changes["usd"] = settings.max_usd
    if settings.max_minutes is not None:
        changes["minutes"] = settings.max_minutes
    return replace(base, **changes)


def _configs(settings: RunSettings, loaded: _Loaded) -> dict[str, Any]:
    """The engine, reflection, merge and stop configs: the task file's, then the flags."""
    c = loaded.configs
    engine: EngineConfig = c.get("engine") or EngineConfig()
    reflection: ReflectionConfig = c.get("reflection") or ReflectionConfig()
    merge: MergeConfig = c.get("merge") or MergeConfig()
    if settings.seed is not None:
        engine = replace(engine, seed=settings.seed)
    if settings.concurrency is not None:
        engine = replace(engine, concurrency=settings.concurrency)
    if settings.perfect_score is not None:
        engine = replace(engine, perfect_score=settings.perfect_score)
    if settings.minibatch is not None:
        reflection = replace(reflection, minibatch_size=settings.minibatch)
    if settings.merge is not None:
        merge = replace(merge, enabled=settings.merge)
    return {
        "engine": engine,
        "reflection": reflection,
        "merge": merge,
        "stop": c.get("stop"),
        "budget": _budget(settings, c.get("budget")),
    }


# -- running ---------------------------------------------------------------------------


def _mark_failed(run: Path, exc: BaseException) -> None:
    """Record in the store that the run died, so ``show`` and ``report`` say so."""
    from .store import SQLiteRunStore

    if isinstance(exc, asyncio.CancelledError):
        return  # the engine recorded "interrupted" itself
    try:
        store = SQLiteRunStore(run, create=False)
    except StoreError:
        return
    try:
        store.open_run(store.info().fingerprint, {})  # the writer lock, or nothing to do
        if store.info().status in ("running", "interrupted"):
            store.finish({"error": f"{type(exc).__name__}: {exc}"}, status="failed")
    except StoreError:
        pass
    finally:
        store.close()


@dataclass(frozen=True)
class _Reopen:
    """What to do with a stored run whose code changed (see ``paretext._resume``)."""

    fresh: bool = False
    replay_anyway: bool = False
    branch: Path | None = None
    retry_failures: bool = False

    def kwargs(self) -> dict[str, Any]:
        if self.fresh and self.replay_anyway:
            raise typer.BadParameter("--fresh and --replay-anyway exclude each other")
        on_change = "fresh" if self.fresh else "replay_anyway" if self.replay_anyway else "refuse"
        return {"on_change": on_change, "branch": self.branch,
                "retry_failures": self.retry_failures}


def _execute(
    settings: RunSettings,
    run: Path,
    mode: Mode,
    *,
    report: bool,
    mlflow: str | None,
    reopen: _Reopen = _Reopen(),
    wait: bool = False,
) -> int:
    from . import api
    from ._progress import make_observer

    executor = None
    if settings.ray is not None:
        from .ray import RayExecutor

        executor = RayExecutor(settings.ray or None)
    loaded = _load_file(settings) if settings.kind == "file" else _load_task(settings)
    err = Console(stderr=True)
    if mode == "quiet":  # -q prints nothing; an unknown cost still reads "unknown" in show
        warnings.filterwarnings("ignore", message="no price known", category=RuntimeWarning)
    reopen_kwargs = reopen.kwargs()
    target = reopen.branch or run  # a branch is the new run; the old one is only read
    try:
        with make_observer(mode) as observer:
            result: Result = api.optimize(
                loaded.seed,
                loaded.program,
                loaded.metric,
                loaded.trainset,
                loaded.valset,
                reflection_lm=loaded.reflection_lm,
                run=run,
                observer=observer,
                run_meta={"cli": settings.to_meta()},
                executor=executor,
                **_configs(settings, loaded),
                **reopen_kwargs,
                wait=wait,
            )
    except KeyboardInterrupt:
        # A second Ctrl-C (or one before the run's own handlers were in place).
        typer.echo(
            f"paretext: aborted; everything recorded is kept: continue with "
            f"`paretext resume {run}`",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ConfigError, ProgramSignatureError, StoreError):
        raise  # nothing ran, or the store holds another run, is locked, full or read-only
    except BaseException as exc:
        _mark_failed(target, exc)
        raise
    run = target
    if report or mlflow is not None:
        from .report import load, log_to_mlflow, write_report

        data = load(run)  # once, for the report and MLflow alike
        if report:
            path = write_report(data)
            if mode == "rich":
                err.print(f"report: {path}")
        if mlflow is not None:
            run_id = log_to_mlflow(data, experiment=mlflow)
            if mode == "rich":
                err.print(f"mlflow run: {run_id}")
    if result.stopped is StopReason.SIGNAL:
        if mode != "quiet":
            err.print(f"{result.stop_reason}: continue with `paretext resume {run}`")
        return EXIT_INTERRUPTED
    return EXIT_OK


def _mode(quiet: bool, json_lines: bool) -> Mode:
    if quiet and json_lines:
        raise typer.BadParameter("--quiet and --json exclude each other")
    return "quiet" if quiet else "json" if json_lines else "rich"


def _default_run(source: str) -> Path:
    stem = Path(source).stem if source.endswith(".py") else source
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


# -- commands --------------------------------------------------------------------------

RunArg = Annotated[
    Path,
    typer.Argument(
        metavar="RUN", help="Run directory (or its run.sqlite file).", show_default=False
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing; rely on the exit code.")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object per commit (for CI logs).")
]
ReportOpt = Annotated[
    bool, typer.Option("--report/--no-report", help="Write RUN/report.html at the end.")
]
MlflowOpt = Annotated[
    str | None,
    typer.Option(
        "--mlflow",
        metavar="EXPERIMENT",
        help="Log the run to this MLflow experiment at the end "
        "(MLFLOW_TRACKING_URI picks the server).",
    ),
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run the rollouts on a Ray cluster: auto, ray://HOST:PORT or HOST:PORT; alone, "
        "Ray's default (RAY_ADDRESS, else a new local Ray). Needs paretext[ray].",
    ),
]


def _looks_like_address(arg: str) -> bool:
    return arg in ("auto", "local") or ":" in arg


class _RayCommand(typer.core.TyperCommand):
    """Lets ``--ray`` stand alone (Ray's default address) as well as take ``ADDRESS``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        bare = [
            i
            for i, arg in enumerate(args)
            if arg == "--ray" and (i + 1 == len(args) or not _looks_like_address(args[i + 1]))
        ]
        args = ["--ray=" if i in bare else arg for i, arg in enumerate(args)]
        return list(super().parse_args(ctx, args))


WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait", help="If another process is writing this run, wait for it instead of failing."
    ),
]
FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="The program or metric changed: start the run over (the old store is kept beside).",
    ),
]
BranchOpt = Annotated[
    Path | None,
    typer.Option(
        "--branch",
        metavar="NEW_RUN",
        help="Start a new run at NEW_RUN from this one: every recorded LM call is reused, "
        "recorded rollouts only if program, metric and data are unchanged.",
    ),
]
ReplayOpt = Annotated[
    bool,
    typer.Option(
        "--replay-anyway",
        help="The program or metric changed but the recorded rollouts still hold: keep them "
        "(failed ones are retried).",
    ),
]
RetryOpt = Annotated[
    bool, typer.Option("--retry-failures", help="Run recorded failed rollouts again.")
]


@app.command(epilog=_EPILOG, cls=_RayCommand)
def optimize(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="A Python file defining seed, program, metric, trainset (and optionally valset, "
            "reflection_lm), or the name of a built-in task.",
            show_default=False,
        ),
    ],
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            "-b",
            callback=_check_budget,
            help="light, medium, heavy, or a number of rollouts "
            "(default: the task file's budget, else light).",
        ),
    ] = None,
    max_usd: Annotated[
        float | None,
        typer.Option("--max-usd", min=0.0, help="Also stop once LM calls cost this much."),
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option("--max-minutes", min=0.0, help="Also stop after this many minutes."),
    ] = None,
    task_lm: Annotated[
        str | None,
        typer.Option(
            "--task-lm",
            help="Model of the task program (built-in tasks), e.g. openai/gpt-4.1-mini.",
        ),
    ] = None,
    reflection_lm: Annotated[
        str | None,
        typer.Option(
            "--reflection-lm",
            help="Model that rewrites the prompts (overrides the file's reflection_lm).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-j",
            min=1,
            help="Most rollouts and LM calls at once (never changes results; default 16).",
        ),
    ] = None,
    run: Annotated[
        Path | None,
        typer.Option(
            "--run",
            "-r",
            help="Run directory; an existing run there is resumed. Default: runs/NAME-TIME.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the search (and of a task's splits).")
    ] = None,
    train: Annotated[
        int | None, typer.Option("--train", min=1, help="Training examples (built-in tasks).")
    ] = None,
    val: Annotated[
        int | None, typer.Option("--val", min=1, help="Validation examples (built-in tasks).")
    ] = None,
    ray: RayOpt = None,
    perfect_score: Annotated[
        float | None,
        typer.Option(
            "--perfect-score", min=0.0, help="The metric's best score (scores lie in [0, it])."
        ),
    ] = None,
    minibatch: Annotated[
        int | None,
        typer.Option("--minibatch", min=1, help="Examples per reflection minibatch (default 3)."),
    ] = None,
    merge: Annotated[
        bool | None, typer.Option("--merge/--no-merge", help="Merge candidates (default on).")
    ] = None,
    fresh: FreshOpt = False,
    branch: BranchOpt = None,
    replay_anyway: ReplayOpt = False,
    retry_failures: RetryOpt = False,
    quiet: QuietOpt = False,
    json_lines: JsonOpt = False,
    report: ReportOpt = True,
    mlflow: MlflowOpt = None,
    wait: WaitOpt = False,
) -> None:
    """Optimize a program's prompts; the run is stored so it can be resumed and reported."""
    mode = _mode(quiet, json_lines)
    with exit_on_errors():
        kind = "file" if _is_file(source) else "task"
        settings = RunSettings(
            source=str(Path(source).resolve()) if kind == "file" else source,
            kind=kind,
            budget=budget,
            max_usd=max_usd,
            max_minutes=max_minutes,
            task_lm=task_lm,
            reflection_lm=reflection_lm,
            concurrency=concurrency,
            seed=seed,
            train=train,
            val=val,
            ray=ray,
            perfect_score=perfect_score,
            minibatch=minibatch,
            merge=merge,
        )
        reopen = _Reopen(fresh, replay_anyway, branch, retry_failures)
        code = _execute(
            settings, run or _default_run(source), mode, report=report, mlflow=mlflow,
            reopen=reopen, wait=wait,
        )
    raise typer.Exit(code)


@app.command(epilog=_EPILOG, cls=_RayCommand)
def resume(
    run: RunArg,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            "-b",
            callback=_check_budget,
            help="Continue with this budget instead of the stored one.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-j",
            min=1,
            help="Override the stored concurrency (never changes results).",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run the rest on this Ray cluster instead of the stored one (e.g. after the "
            "first went away).",
        ),
    ] = None,
    fresh: FreshOpt = False,
    branch: BranchOpt = None,
    replay_anyway: ReplayOpt = False,
    retry_failures: RetryOpt = False,
    quiet: QuietOpt = False,
    json_lines: JsonOpt = False,
    report: ReportOpt = True,
    mlflow: MlflowOpt = None,
    wait: WaitOpt = False,
) -> None:
    """Continue a run started by `paretext optimize`, exactly where it stopped."""
    mode = _mode(quiet, json_lines)
    with exit_on_errors():
        from .store import SQLiteRunStore

        store = SQLiteRunStore(run, create=False, read_only=True)
        try:
            settings = RunSettings.from_meta(store.info().meta, str(run))
        finally:
            store.close()
        if budget is not None:
            settings = replace(settings, budget=budget)
        if concurrency is not None:
            settings = replace(settings, concurrency=concurrency)
        if ray is not None:
            settings = replace(settings, ray=ray)
        reopen = _Reopen(fresh, replay_anyway, branch, retry_failures)
        code = _execute(
            settings, run, mode, report=report, mlflow=mlflow, reopen=reopen, wait=wait
        )
    raise typer.Exit(code)


@app.command(epilog=_EPILOG)
def show(run: RunArg) -> None:
    """Summarize a run in the terminal: best candidate, frontier, budget, cost, failures."""
    with exit_on_errors():
        from .report import load, print_summary

        print_summary(load(run), Console())


@app.command(epilog=_EPILOG)
def report(
    run: RunArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the HTML. Default: RUN/report.html."),
    ] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
) -> None:
    """Write the self-contained HTML report of a run (works while it is still running)."""
    with exit_on_errors():
        from .report import write_report

        path = write_report(run, output)
        typer.echo(str(path))
        if open_it:
            typer.launch(str(path))


@app.command(epilog=_EPILOG)
def export(
    run: RunArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    all_candidates: Annotated[
        bool, typer.Option("--all", help="Include every candidate, not only the frontier.")
    ] = False,
) -> None:
    """Print the best candidate and the frontier as JSON."""
    with exit_on_errors():
        from .report import export_dict, load

        text = json.dumps(
            export_dict(load(run), all_candidates=all_candidates), indent=2, ensure_ascii=False
        )
        if output is None:
            typer.echo(text)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text + "\n", encoding="utf-8")
            typer.echo(str(output), err=True)


RunNameOpt = Annotated[
    str | None, typer.Option("--run-name", help="Default: the run directory's name.")
]


@app.command("mlflow", epilog=_EPILOG)
def mlflow_command(
    run: RunArg,
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="MLflow experiment name.")
    ] = "paretext",
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="Default: MLFLOW_TRACKING_URI.")
    ] = None,
    run_name: RunNameOpt = None,
) -> None:
    """Log a run to MLflow: settings, scores per accepted candidate, report and best candidate.

    Prints the MLflow run id on stdout (for scripts) and where it went on stderr.
    """
    with exit_on_errors():
        from .report import load, log_to_mlflow, mlflow_tracking_uri

        data = load(run)
        run_id = log_to_mlflow(
            data, tracking_uri=tracking_uri, experiment=experiment, run_name=run_name
        )
        uri = mlflow_tracking_uri(tracking_uri)
        typer.echo(run_id)
        typer.echo(
            f"logged {data.location} to MLflow experiment {experiment!r} at {uri} "
            f"(best {data.best}); browse it with: mlflow ui --backend-store-uri {uri}",
            err=True,
        )


@app.command("wandb", epilog=_EPILOG)
def wandb_command(
    run: RunArg,
    project: Annotated[
        str, typer.Option("--project", "-p", help="W&B project name.")
    ] = "paretext",
    run_name: RunNameOpt = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Write the W&B run to disk (`wandb sync` later).")
    ] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where W&B writes its files (default WANDB_DIR).")
    ] = None,
) -> None:
    """Log a run to Weights & Biases: settings, the score curve, report and best candidate."""
    with exit_on_errors():
        from .report import load, log_to_wandb

        data = load(run)
        path = log_to_wandb(
            data, project=project, run_name=run_name, mode="offline" if offline else None,
            directory=directory,
        )
        typer.echo(path)
        typer.echo(f"logged {data.location} to W&B project {project!r} as {path}", err=True)


# -- plugins and entry point ---------------------------------------------------------------


def _unavailable(name: str, exc: ImportError) -> Callable[[], None]:
    def command() -> None:
        raise _fail(f"`paretext {name}` cannot load: {exc}", EXIT_USAGE)

    return command


def _mount_plugins(target: typer.Typer, plugins: Mapping[str, str]) -> None:
    for name, ref in plugins.items():
        module_name, _, attr = ref.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
            if missing is not None and (
                module_name == missing or module_name.startswith(missing + ".")
            ):
                continue  # that module is not part of this build (yet)
            # It exists but cannot load (an extra is missing?): keep the rest of the CLI working.
            target.command(name, help=f"Unavailable: {exc}")(_unavailable(name, exc))
            continue
        obj = getattr(module, attr)
        if isinstance(obj, typer.Typer):
            target.add_typer(obj, name=name)
        elif callable(obj):
            command: Callable[..., Any] = obj
            target.command(name, epilog=_EPILOG)(command)
        else:
            raise TypeError(f"plugin {ref} is neither a typer.Typer nor a function")


_mount_plugins(app, PLUGINS)


def main() -> None:
    """Console-script entry point (``paretext``)."""
    app(prog_name="paretext")
