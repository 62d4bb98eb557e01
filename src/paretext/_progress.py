"""Live progress for a run: a rich display, JSON lines for CI logs, or nothing.

Each display is an :class:`~paretext.engine.EngineObserver`.  Every hook first
turns what the engine reports into a :class:`Snapshot` (plain numbers), and
the views only format snapshots, so the rich bar and the JSON lines always
say the same thing.

Everything shown comes from the engine's :class:`~paretext.engine.RunSnapshot`;
LM tokens and cost are the calls paid in this process (``RunSnapshot.paid``),
which is what a resumed run is costing now.
"""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any, Literal

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ._format import tokens, usd
from .engine import EngineObserver

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._types import Proposal, Result
    from .engine import RunSnapshot

__all__ = [
    "JsonLinesProgress",
    "Mode",
    "RichProgress",
    "Snapshot",
    "make_observer",
    "terminal_progress",
]

Mode = Literal["rich", "json", "quiet"]
_NO_PRICE = "cost unknown"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run right after one commit, as numbers a display can print."""

    kind: str
    iteration: int | None
    accepted: bool
    candidate: str | None
    reason: str
    best: str
    best_score: float
    seed_score: float
    frontier_size: int
    candidates: int
    proposals_accepted: int
    proposals_rejected: int
    rollouts: int
    rollouts_running: int
    rollouts_reserved: int
    rollouts_limit: int | None
    tokens: int
    cost_usd: float | None
    elapsed_s: float


class _Counting(EngineObserver):
    """Turns the engine's run snapshots into display snapshots."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.last: Snapshot | None = None

    def on_start(self, rollouts_limit: int | None) -> None:
        self.limit = rollouts_limit

    def snapshot(self, run: RunSnapshot, proposal: Proposal | None) -> Snapshot:
        paid_tokens = sum(u.prompt_tokens + u.completion_tokens for u in run.paid)
        costs = [u.cost_usd for u in run.paid]
        snap = Snapshot(
            kind="seed" if proposal is None else proposal.kind,
            iteration=None if proposal is None else proposal.iteration,
            accepted=proposal is None or proposal.accepted,
            candidate=run.seed.id if proposal is None else proposal.candidate_id,
            reason="seed" if proposal is None else proposal.reason,
            best=run.best.id,
            best_score=run.best.score,
            seed_score=run.seed.score,
            frontier_size=len(run.frontier),
            candidates=len(run.candidates),
            proposals_accepted=run.accepted,
            proposals_rejected=run.rejected,
            rollouts=run.rollouts_finished,
            rollouts_running=run.rollouts_running,
            rollouts_reserved=run.rollouts_reserved,
            rollouts_limit=run.rollouts_limit,
            tokens=paid_tokens,
            cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
            elapsed_s=round(run.elapsed_s, 3),
        )
        self.last = snap
        return snap

    def close(self, *, failed: bool = False) -> None:
        """Release the terminal; safe to call twice.  ``failed`` erases a live display."""

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


class Quiet(_Counting):
    """Prints nothing: exit codes and the run store say what happened."""


class _Display(Progress):
    """A progress bar with a status line under it."""

    def __init__(self, status: Text, *columns: Any, **kwargs: Any) -> None:
        self.status = status  # set first: Progress may render while it initialises
        super().__init__(*columns, **kwargs)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield Group(self.make_tasks_table(self.tasks), self.status)


class RichProgress(_Counting):
    """Bar of rollouts against the budget with ETA, and a status line; a summary at the end."""

    def __init__(self, *, console: Console | None = None, out: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console(stderr=True)
        self.out = out or Console()
        self._status = Text("evaluating the seed…", style="dim")
        self._display: _Display | None = None
        self._task: TaskID | None = None

    def on_start(self, rollouts_limit: int | None) -> None:
        super().on_start(rollouts_limit)
        self._display = _Display(
            self._status,
            SpinnerColumn(),
            TextColumn("[bold]rollouts"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[dim]({task.fields[spent]})"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._display.add_task("rollouts", total=self.limit, spent="0 running")
        self._display.start()

    def on_rollouts(self, snapshot: RunSnapshot) -> None:
        if self._display is not None and self._task is not None:
            self._display.update(
                self._task,
                completed=snapshot.rollouts_finished,
                spent=f"{snapshot.rollouts_running} running, "
                f"{snapshot.rollouts_reserved} reserved",
            )

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        s = self.snapshot(snapshot, proposal)
        self._status.truncate(0)
        self._status.append_text(status_line(s))
        self.on_rollouts(snapshot)

    def on_stop_requested(self, reason: str, in_flight: int) -> None:
        self.console.print(stopping_line(reason, in_flight), style="yellow")

    def on_finish(self, result: Result) -> None:
        self.close()
        self.out.print(summary_table(result, self.last))
        self.out.print(best_prompt(result))

    def close(self, *, failed: bool = False) -> None:
        if self._display is not None:
            # After an error the bar is erased, so the error stands alone as one line.
            self._display.live.transient = failed
            self._display.stop()
            self._display = None


def stopping_line(reason: str, in_flight: int) -> str:
    """What a first Ctrl-C (or SIGTERM) prints: what is left to wait for, and the way out."""
    plural = "proposal" if in_flight == 1 else "proposals"
    return f"{reason}: stopping after {in_flight} in-flight {plural}… press Ctrl-C again to abort"


def status_line(s: Snapshot) -> Text:
    text = Text.assemble(
        ("best ", "dim"),
        (f"{s.best_score:.3f}", "bold green"),
        (f" ({s.best})", "dim"),
        ("  seed ", "dim"),
        f"{s.seed_score:.3f}",
        ("  frontier ", "dim"),
        str(s.frontier_size),
        ("  proposals ", "dim"),
        (f"{s.proposals_accepted}✓", "green"),
        " ",
        (f"{s.proposals_rejected}✗", "red"),
        ("  LM ", "dim"),
        f"{tokens(s.tokens)} tok {usd(s.cost_usd, _NO_PRICE)}",
    )
    return text


def summary_table(result: Result, last: Snapshot | None) -> Table:
    """The end-of-run table: what was found, what it cost, what went wrong."""
    table = Table(title="paretext run", title_justify="left", show_header=False)
    table.add_column(style="dim")
    table.add_column()
    seed = result.candidates[0].score if result.candidates else None
    table.add_row(
        "best",
        f"[bold green]{result.best.score:.3f}[/] ({result.best.id})"
        + ("" if seed is None else f", seed {seed:.3f}"),
    )
    table.add_row("frontier", ", ".join(c.id for c in result.frontier))
    accepted = sum(p.accepted for p in result.proposals)
    table.add_row(
        "candidates",
        f"{len(result.candidates)}; proposals {accepted} accepted, "
        f"{len(result.proposals) - accepted} rejected",
    )
    limit = "" if result.rollouts_limit is None else f" / {result.rollouts_limit:,}"
    table.add_row("rollouts", f"{result.rollouts_used:,}{limit}")
    table.add_row("stopped", result.stop_reason)
    for u in result.usage:
        table.add_row(
            f"LM {u.model}",
            f"{u.calls:,} calls ({u.cache_hits:,} cached), "
            f"{u.prompt_tokens + u.completion_tokens:,} tokens, {usd(u.cost_usd, _NO_PRICE)}",
        )
    if last is not None:
        table.add_row(
            "paid now",
            f"{tokens(last.tokens)} tokens, {usd(last.cost_usd, _NO_PRICE)}; "
            f"{last.elapsed_s:,.1f} s",
        )
    table.add_row(
        "failures",
        "[green]none[/]"
        if not result.failures
        else "[red]" + "; ".join(str(f) for f in result.failures[:3]) + "[/]",
    )
    if result.run_path:
        table.add_row("run", f"{result.run_path}  (paretext report {result.run_path})")
    return table


def best_prompt(result: Result) -> RenderableType:
    """The best candidate's texts, each with its diff against the seed, and its scores."""
    best, seed = result.best, result.candidates[0]
    better = sum(v > seed.val_scores.get(e, 0.0) for e, v in best.val_scores.items())
    worse = sum(v < seed.val_scores.get(e, 0.0) for e, v in best.val_scores.items())
    title = Text.assemble(
        ("best prompt ", "bold"),
        (best.id, "bold green"),
        f": validation {best.score:.3f} (seed {seed.score:.3f}); better than the seed on "
        f"{better}, worse on {worse} of {len(best.val_scores)} examples",
    )
    parts: list[RenderableType] = [title]
    for name, text in best.components.items():
        old = seed.components.get(name)
        if old == text:
            parts.append(Text(f"[{name}] unchanged from the seed", style="dim"))
            continue
        parts.append(Text(f"[{name}]", style="bold"))
        parts.append(Text(text))
        parts.append(Text(f"diff against the seed ({name}):", style="dim"))
        parts.append(_diff(old or "", text))
    return Group(*parts)


def _diff(old: str, new: str) -> Text:
    out = Text()
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "seed", "best", lineterm="")
    for line in list(lines)[2:]:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        out.append(line + "\n", style=style)
    return out


class JsonLinesProgress(_Counting):
    """One JSON object per line: ``start``, one ``commit`` per commit, then ``finish``."""

    def __init__(self, *, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.stream = stream

    def _emit(self, obj: dict[str, Any]) -> None:
        stream = self.stream or sys.stdout
        stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
        stream.flush()

    def on_start(self, rollouts_limit: int | None) -> None:
        super().on_start(rollouts_limit)
        self._emit({"event": "start", "rollouts_limit": rollouts_limit})

    def on_commit(self, snapshot: RunSnapshot, proposal: Proposal | None) -> None:
        self._emit({"event": "commit", **asdict(self.snapshot(snapshot, proposal))})

    def on_stop_requested(self, reason: str, in_flight: int) -> None:
        self._emit({"event": "stopping", "reason": reason, "in_flight": in_flight})
        print(stopping_line(reason, in_flight), file=sys.stderr, flush=True)

    def on_finish(self, result: Result) -> None:
        self._emit(
            {
                "event": "finish",
                "best": result.best.id,
                "best_score": result.best.score,
                "components": dict(result.best.components),
                "seed_score": result.candidates[0].score,
                "frontier": [c.id for c in result.frontier],
                "rollouts": result.rollouts_used,
                "rollouts_limit": result.rollouts_limit,
                "stop_reason": result.stop_reason,
                "failures": [str(f) for f in result.failures],
                "run": result.run_path,
            }
        )


def make_observer(
    mode: Mode,
    *,
    console: Console | None = None,
    out: Console | None = None,
    stream: IO[str] | None = None,
) -> _Counting:
    """The display for ``mode``; use it as a context manager so an error releases the terminal."""
    if mode == "rich":
        return RichProgress(console=console, out=out)
    if mode == "json":
        return JsonLinesProgress(stream=stream)
    return Quiet()


def terminal_progress(console: Console | None = None) -> _Counting | None:
    """The live bar for ``optimize(progress=True)``: ``None`` when stderr is not a terminal."""
    console = console or Console(stderr=True)
    return RichProgress(console=console) if console.is_terminal else None
