"""The HTML report: one self-contained page (inline CSS, SVG and script; no network at all).

Everything user-supplied (prompts, outputs, feedback, ids) goes through
``html.escape``: a report must be safe to open whatever the model wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from html import escape
from importlib import resources

from .._format import usd
from ._data import ChildChange, ReportData, group_failures
from ._svg import colour, curve_svg, heatmap_svg, lineage_svg

__all__ = ["render_html"]

#: Longest output or feedback shown in full; the rest is elided (the store keeps everything).
CLIP = 1500
#: Most rows of one failure table; a run with thousands of failed rollouts stays readable.
MAX_FAILURE_ROWS = 200


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _clip(text: str, limit: int = CLIP) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} … [{len(text) - limit} characters elided] … {text[-half:]}"


def _num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _card(label: str, value: str, note: str = "") -> str:
    extra = f'<div class="note">{escape(note)}</div>' if note else ""
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div>{extra}</div>'
    )


def _component(name: str, body: str) -> str:
    return f'<div class="component"><div class="cname">{escape(name)}</div>{body}</div>'


def _swatch(score: float, perfect: float) -> str:
    """A small colour chip (the heat map's scale) followed by the number."""
    return f'<span class="score" style="background:{colour(score, perfect)}"></span>{_num(score)}'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """Cells are markup already escaped by the caller."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _status_badge(data: ReportData) -> str:
    label = {
        "finished": "finished",
        "failed": "failed",
        "interrupted": "interrupted (resume to continue)",
    }.get(data.status, "in progress")
    return f'<span class="badge {escape(data.status)}">{escape(label)}</span>'


def _header(data: ReportData) -> str:
    best = data.best_candidate
    seed = data.seed_score
    cost = data.total_cost_usd
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in data.usage)
    budget = f"{data.rollouts_used:,}" + (
        f" / {data.rollouts_limit:,}" if data.rollouts_limit else ""
    )
    cards = [
        _card(
            "best validation score",
            _num(best.score if best else None),
            (f"{best.id}, seed {_num(seed)}" if best else "")
            + (f"; {data.selection_line}" if data.selection_line else ""),
        ),
        _card("candidates", str(len(data.candidates)), f"{len(data.frontier)} on the frontier"),
        _card(
            "proposals",
            str(len(data.proposals)),
            f"{data.accepted} accepted, {data.rejected} rejected",
        ),
        _card("rollouts", budget, data.stop_reason or ""),
        _card("LM cost", usd(cost), f"{tokens:,} tokens"),
        _card("failures", str(len(data.failures))),
    ]
    if data.seconds is not None:
        total = data.seconds_total if data.seconds_total is not None else data.seconds
        cards.append(_card("wall time", f"{total:,.1f} s"))
    banner = ""
    if not data.finished:
        banner = (
            '<div class="banner">This run has no final summary yet: it is still going, or it was '
            "stopped before the end. The figures show what was committed so far; run "
            "<code>paretext report RUN</code> again to refresh, <code>paretext resume RUN</code> "
            "to continue.</div>"
        )
    where = escape(data.location or "in-memory run")
    return (
        "<header><h1>paretext report</h1>"
        f'<div class="sub"><code>{where}</code> {_status_badge(data)}</div>'
        f'{banner}<div class="cards">{"".join(cards)}</div></header>'
    )


_NAV = (
    ("best", "Best candidate"),
    ("curve", "Score vs rollouts"),
    ("lineage", "Lineage"),
    ("heatmap", "Frontier heat map"),
    ("changes", "Changes"),
    ("proposals", "Proposals"),
    ("outputs", "Best outputs"),
    ("transfers", "Transfer"),
    ("usage", "LM usage"),
    ("failures", "Failures"),
    ("settings", "Settings"),
)


def _section(sid: str, title: str, body: str, intro: str = "") -> str:
    p = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{p}{body}</section>'


def _best(data: ReportData) -> str:
    best = data.best_candidate
    if best is None:
        return '<p class="empty">No candidate committed yet.</p>'
    blocks = "".join(
        _component(name, f"<pre>{escape(text)}</pre>") for name, text in best.components.items()
    )
    origin = "the seed" if not best.parents else f"{best.origin} of {', '.join(best.parents)}"
    return (
        f"<p><b>{escape(best.id)}</b> ({escape(origin)}): mean validation score "
        f"<b>{_num(best.score)}</b>, best on {best.wins} of {len(data.instances)} instances."
        f"</p>{blocks}"
    )


def _diff_html(change: ChildChange) -> str:
    out = []
    for d in change.diffs:
        segs = "".join(
            f"<del>{escape(s.text)}</del>"
            if s.op == "delete"
            else f"<ins>{escape(s.text)}</ins>"
            if s.op == "insert"
            else escape(s.text)
            for s in d.segments
        )
        out.append(_component(d.component, f'<pre class="diff">{segs}</pre>'))
    return "".join(out) or '<p class="empty">No text changed.</p>'


def _change(change: ChildChange, data: ReportData) -> str:
    gate = (
        f"minibatch {_num(change.parent_gate)} → {_num(change.child_gate)}"
        if change.parent_gate is not None
        else ""
    )
    delta = change.score_after - change.score_before
    trend = "up" if delta > 0 else "down" if delta < 0 else "flat"
    head = (
        f'<span class="cid">{escape(change.candidate)}</span> '
        f"← {escape(' + '.join(change.parents))} "
        f'<span class="kind {escape(change.kind)}">{escape(change.kind)}</span> '
        f"validation {_num(change.score_before)} → <b>{_num(change.score_after)}</b> "
        f'<span class="{trend}">({delta:+.3f})</span> '
        f'<span class="muted">{escape(gate)}</span>'
    )
    if change.kind == "merge":
        why = (
            f'<p class="muted">Merged from {escape(" and ".join(change.parents))}; the diff is '
            f"against {escape(change.base)}.</p>"
        )
    elif change.feedback:
        rows = [
            (
                escape(f.example_id),
                _swatch(f.score, data.perfect_score),
                f"<pre>{escape(_clip(f.output))}</pre>",
                f"<pre>{escape(_clip(f.error or f.feedback))}</pre>",
            )
            for f in change.feedback
        ]
        why = (
            f"<h4>Feedback on {escape(change.base)}'s minibatch that produced this change</h4>"
            + _table(("example", "score", "output", "feedback"), rows, "feedback")
        )
    else:
        why = '<p class="muted">No recorded feedback for this change.</p>'
    open_attr = " open" if change.candidate == data.best else ""
    return (
        f'<details class="change" id="change-{escape(change.candidate)}"{open_attr}>'
        f"<summary>{head}</summary>{_diff_html(change)}{why}</details>"
    )


def _changes(data: ReportData) -> str:
    if not data.changes:
        return '<p class="empty">No accepted child yet.</p>'
    tools = (
        '<p class="tools"><button type="button" data-toggle="open">Expand all</button> '
        '<button type="button" data-toggle="close">Collapse all</button></p>'
    )
    return tools + "".join(_change(c, data) for c in data.changes)


def _proposals(data: ReportData) -> str:
    if not data.proposals:
        return '<p class="empty">No proposal committed yet.</p>'
    rows = []
    for p in data.proposals:
        result = (
            f'<span class="ok">accepted → {escape(p.candidate or "")}</span>'
            if p.accepted
            else f'<span class="no">{escape(p.reason)}</span>'
        )
        gate = "" if p.parent_gate is None else f"{_num(p.parent_gate)} → {_num(p.child_gate)}"
        rows.append(
            (
                str(p.iteration),
                escape(p.kind),
                escape(", ".join(p.parents)),
                escape(", ".join(p.components)),
                escape(gate),
                result,
            )
        )
    return _table(("#", "kind", "parents", "components", "minibatch", "result"), rows)


def _outputs(data: ReportData) -> str:
    if not data.best_outputs:
        return '<p class="empty">No validation output yet.</p>'
    rows = [
        (
            escape(b.example_id),
            escape(b.candidate),
            _swatch(b.score, data.perfect_score),
            f"<pre>{escape(_clip(b.output))}</pre>",
            f"<pre>{escape(_clip(b.feedback))}</pre>",
        )
        for b in data.best_outputs
    ]
    return _table(("instance", "candidate", "score", "best output", "feedback"), rows, "outputs")


def _usage(data: ReportData) -> str:
    if not data.usage:
        return '<p class="empty">No LM call recorded.</p>'
    rows = [
        (
            escape(u.role),
            escape(u.model),
            f"{u.calls:,}",
            f"{u.prompt_tokens:,}",
            f"{u.completion_tokens:,}",
            escape(usd(u.cost_usd)),
        )
        for u in data.usage
    ]
    total = data.total_cost_usd
    rows.append(
        (
            "<b>total</b>",
            "",
            f"{sum(u.calls for u in data.usage):,}",
            f"{sum(u.prompt_tokens for u in data.usage):,}",
            f"{sum(u.completion_tokens for u in data.usage):,}",
            f"<b>{escape(usd(total))}</b>",
        )
    )
    return _table(
        ("role", "model", "calls", "prompt tokens", "completion tokens", "cost"), rows, "num"
    )


def _transfers(data: ReportData) -> str:
    if not data.transfers:
        return '<p class="empty">No idea spread between tasks in this run.</p>'
    rows = [
        (
            f"{escape(t.source)} <small>({escape(t.source_task)})</small>",
            f"{escape(t.target)} <small>({escape(t.target_task)})</small>",
            f"{t.gain:+.3f}",
            f"<pre>{escape(_clip(chr(10).join(t.lines)))}</pre>",
        )
        for t in data.transfers
    ]
    return _table(("from (task)", "to (task)", "score change", "lines carried over"), rows, "")


def _failures(data: ReportData) -> str:
    if not data.failures:
        return '<p class="empty ok">Nothing failed.</p>'
    groups = group_failures(data.failures)  # one row per distinct failure, not per place
    shown = groups[:MAX_FAILURE_ROWS]
    rows = [
        (escape(g.kind), escape(g.where), f"<pre>{escape(_clip(g.message))}</pre>") for g in shown
    ]
    more = len(groups) - len(shown)
    tail = (
        f'<p class="muted">… and {more} more (see <code>paretext show RUN</code>).</p>'
        if more
        else ""
    )
    return _table(("kind", "where", "message"), rows, "failures") + tail


def _settings(data: ReportData) -> str:
    dump = json.dumps(
        {"fingerprint": data.fingerprint, "meta": data.meta},
        indent=2,
        ensure_ascii=False,
        default=repr,
    )
    return f"<pre>{escape(dump)}</pre>"


def render_html(data: ReportData, *, title: str | None = None) -> str:
    """The whole report as one HTML string; it references nothing outside itself."""
    from .. import __version__

    heading = title or f"paretext report · {data.location or 'in-memory run'}"
    nav = "".join(
        f'<a href="#{sid}">{escape(label)}</a>'
        for sid, label in _NAV
        if sid != "transfers" or data.batch_mode
    )
    legend = (
        '<p class="legend"><span class="sw ring"></span> best '
        '<span class="sw front"></span> on the '
        'frontier <span class="sw merge"></span> merge edge · colour: validation score '
        "(dark = low, yellow = perfect) · click a node for its diff</p>"
    )
    body = "".join(
        (
            _header(data),
            f"<nav>{nav}</nav><main>",
            _section("best", "Best candidate", _best(data)),
            _section(
                "curve",
                "Best validation score against rollouts",
                curve_svg(data),
                "The line is the best mean validation score so far; dots are accepted candidates "
                "(filled when they set a new best).",
            ),
            _section(
                "lineage", "Lineage", legend + f'<div class="scroll">{lineage_svg(data)}</div>'
            ),
            _section(
                "heatmap",
                "Frontier heat map",
                f'<div class="scroll">{heatmap_svg(data)}</div>',
                "Rows are candidates, columns validation instances. A candidate stays on the "
                "frontier while it is the best on at least one instance.",
            ),
            _section(
                "changes",
                "Changes",
                _changes(data),
                "Each accepted child against its parent, with the feedback reflection read.",
            ),
            _section("proposals", "Proposals", _proposals(data)),
            _section("outputs", "Best output per instance", _outputs(data)),
            _section(
                "transfers",
                "Cross-task transfer",
                _transfers(data),
                "Lines a mutation added to one task's artifact that an earlier mutation had "
                "introduced first on another task: where an idea spread.",
            )
            if data.batch_mode
            else "",
            _section(
                "usage",
                "LM usage and cost",
                _usage(data),
                "Calls recorded in the run store, each paid once (replays on resume are free).",
            ),
            _section("failures", "Failures", _failures(data)),
            _section("settings", "Settings", _settings(data)),
            "</main>",
            f"<footer>paretext {escape(__version__)} · generated "
            f"{escape(time.strftime('%Y-%m-%d %H:%M:%S'))}</footer>",
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{_asset('report.css')}</style></head>"
        f"<body>{body}<script>{_asset('report.js')}</script></body></html>\n"
    )
