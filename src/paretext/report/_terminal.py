"""``paretext show``: the report's data as a terminal summary, drawn with rich."""

from __future__ import annotations

import re
from collections import Counter

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .._format import usd
from ._data import ReportData, group_failures

__all__ = ["print_summary", "summary_renderables"]

MAX_FAILURES_SHOWN = 20


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: object) -> Text:
    """Any text (LM-written, user-written) as plain text: control characters shown escaped
    (an ``ESC[...`` sequence would otherwise drive the terminal) and no rich markup parsed."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _reason(reason: str) -> str:
    """Group rejection reasons by kind: the part before the first colon."""
    return reason.split(":", 1)[0]


def summary_renderables(data: ReportData) -> list[RenderableType]:
    status = {"finished": "green", "failed": "red"}.get(data.status, "yellow")
    state = {"interrupted": "interrupted (resume to continue)"}.get(data.status, data.status)
    head = Text.assemble(
        ("run ", "bold"),
        (_safe(data.location or "in memory").plain, "cyan"),
        "  ",
        (state, f"bold {status}"),
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    best = data.best_candidate
    facts.add_row(
        "best", f"{_num(best.score if best else None)}" + (f" ({best.id})" if best else "")
    )
    if data.selection_line:
        facts.add_row("", data.selection_line)
    facts.add_row("seed", _num(data.seed_score))
    budget = f"{data.rollouts_used:,}" + (
        f" / {data.rollouts_limit:,}" if data.rollouts_limit else ""
    )
    facts.add_row("rollouts", budget)
    facts.add_row("candidates", f"{len(data.candidates)} ({len(data.frontier)} on the frontier)")
    facts.add_row("proposals", f"{data.accepted} accepted, {data.rejected} rejected")
    if data.stop_reason:
        facts.add_row("stopped", _safe(data.stop_reason))
    if data.seconds is not None:
        total = data.seconds_total if data.seconds_total is not None else data.seconds
        facts.add_row(
            "wall time", f"{total:,.1f} s in all (the last process {data.seconds:,.1f} s)"
        )
    facts.add_row("LM cost", usd(data.total_cost_usd))
    out: list[RenderableType] = [head, facts]

    if best is not None:
        texts = [
            Panel(_safe(text), title=_safe(name), title_align="left", border_style="green")
            for name, text in best.components.items()
        ]
        out.append(Panel(Group(*texts), title=f"best candidate {best.id}", title_align="left"))

    if data.frontier:
        table = Table(title="frontier", title_justify="left")
        for col, kw in (
            ("id", {}),
            ("score", {"justify": "right"}),
            ("best on", {"justify": "right"}),
            ("origin", {}),
            ("parents", {}),
        ):
            table.add_column(col, **kw)  # type: ignore[arg-type]
        for cid in data.frontier:
            c = data.candidate(cid)
            table.add_row(
                _safe(c.id + (" ★" if c.is_best else "")),
                _num(c.score),
                f"{c.wins}/{len(data.instances)}",
                _safe(c.origin),
                _safe(", ".join(c.parents) or "—"),
            )
        out.append(table)

    rejected = Counter(_reason(p.reason) for p in data.proposals if not p.accepted)
    if rejected:
        reasons = Table(title="rejections", title_justify="left", show_header=False, box=None)
        reasons.add_column(justify="right")
        reasons.add_column(overflow="fold")
        for reason, n in rejected.most_common():
            reasons.add_row(f"{n} ×", _safe(reason))
        out.append(reasons)

    if data.usage:
        usage = Table(title="LM usage (recorded calls)", title_justify="left")
        for col in ("role", "model", "calls", "prompt tok", "completion tok", "cost"):
            usage.add_column(col, justify="left" if col in ("role", "model") else "right")
        for u in data.usage:
            usage.add_row(
                _safe(u.role),
                _safe(u.model),
                f"{u.calls:,}",
                f"{u.prompt_tokens:,}",
                f"{u.completion_tokens:,}",
                usd(u.cost_usd),
            )
        out.append(usage)

    if data.transfers:
        spread = Table(title="cross-task transfer", title_justify="left")
        for col in ("from (task)", "to (task)", "score change", "lines carried over"):
            spread.add_column(col, overflow="fold")
        for t in data.transfers:
            spread.add_row(f"{t.source} ({t.source_task})", f"{t.target} ({t.target_task})",
                           f"{t.gain:+.3f}", "\n".join(t.lines[:3]))
        out.append(spread)

    if data.failures:
        groups = group_failures(data.failures)
        fails = Table(
            title=f"failures ({len(data.failures)})", title_justify="left", border_style="red"
        )
        fails.add_column("kind")
        fails.add_column("where")
        fails.add_column("message", overflow="fold")
        for g in groups[:MAX_FAILURES_SHOWN]:
            fails.add_row(_safe(g.kind), _safe(g.where), _safe(g.message))
        out.append(fails)
        if len(groups) > MAX_FAILURES_SHOWN:
            out.append(
                Text(
                    f"… and {len(groups) - MAX_FAILURES_SHOWN} more kinds in the HTML report",
                    style="dim",
                )
            )
    else:
        out.append(Text("no failures", style="green"))
    return out


def print_summary(data: ReportData, console: Console) -> None:
    for part in summary_renderables(data):
        console.print(part)
