"""The service's web page: slots, versions with their scores, recent rounds.

Plain server-rendered HTML with inline CSS and no script, so nothing is loaded
from anywhere else.  Every text from the database is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from html import escape

from ._records import RoundRecord, Slot, Version

__all__ = ["login_page", "slots_page"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;background:#e8f0fe;border-radius:3px;padding:0 .35rem;margin-right:.2rem}
.status-promoted{color:#17692e;font-weight:600}.status-failed{color:#b00020}
pre{white-space:pre-wrap;margin:0;max-height:6rem;overflow:auto;font-size:12px}
form.inline{display:inline}
"""


def _doc(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><link rel='icon' href='data:,'>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _score(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else ""


def login_page(problem: str = "") -> str:
    note = f"<p role='alert'>{escape(problem)}</p>" if problem else ""
    return _doc(
        "paretext service",
        "<h1>paretext service</h1>"
        f"{note}<form method='post' action='/ui/login'>"
        "<label>API token <input type='password' name='token' id='token' size='50'></label> "
        "<button type='submit'>Sign in</button></form>",
    )


def _versions(
    slot: Slot, versions: Sequence[Version], aliases: Mapping[tuple[str, str], int]
) -> str:
    tags: dict[int, list[str]] = {}
    for (user, name), number in sorted(aliases.items()):
        tags.setdefault(number, []).append(f"{name} ({user})" if user else name)
    rows = []
    for v in reversed(versions):
        labels = "".join(f"<span class='tag'>{escape(t)}</span>" for t in tags.get(v.number, []))
        text = "\n\n".join(f"[{k}]\n{c}" for k, c in v.components.items())
        rows.append(
            f"<tr class='version' data-version='{v.number}'><td class='num'>{v.number}</td>"
            f"<td>{labels}</td><td>{escape(v.user_key or 'shared')}</td>"
            f"<td>{escape(v.source)}</td>"
            f"<td class='num'>{_score(v.scores.get('holdout'))}</td>"
            f"<td class='num'>{_score(v.scores.get('base_holdout'))}</td>"
            f"<td><pre>{escape(text)}</pre></td><td>{_when(v.created_at)}</td></tr>"
        )
    return (
        "<table class='versions'><thead><tr><th>Version</th><th>Aliases</th><th>User</th>"
        "<th>Source</th><th>Held-out score</th><th>Base's score</th><th>Components</th>"
        f"<th>Created</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _rounds(rounds: Sequence[RoundRecord]) -> str:
    if not rounds:
        return "<p>No rounds yet.</p>"
    rows = []
    for r in rounds:
        scores = r.scores or {}
        change = f"{_score(scores.get('base_holdout'))} → {_score(scores.get('holdout'))}"
        spent = r.used_rollouts if r.used_rollouts is not None else r.reserved_rollouts
        rows.append(
            f"<tr class='round' data-round='{r.id}'><td class='num'>{r.number}</td>"
            f"<td>{escape(r.user_key or 'shared')}</td>"
            f"<td class='status-{escape(r.status)}'>{escape(r.status)}</td>"
            f"<td class='num'>{r.n_events}</td>"
            f"<td class='num'>{change}</td><td class='num'>{spent}</td>"
            f"<td>{_when(r.created_at)}</td>"
            f"<td><a href='/v1/rounds/{r.id}/report'>report</a></td></tr>"
        )
    return (
        "<table class='rounds'><thead><tr><th>Round</th><th>User</th><th>Status</th>"
        "<th>Events</th><th>Held-out (base → new)</th><th>Rollouts</th><th>Started</th>"
        f"<th>Run</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def slots_page(
    slots: Sequence[
        tuple[Slot, Sequence[Version], Mapping[tuple[str, str], int], Sequence[RoundRecord]]
    ],
) -> str:
    parts = [
        "<h1>paretext service</h1><form class='inline' method='post' action='/ui/logout'>"
        "<button type='submit'>Sign out</button></form>"
    ]
    if not slots:
        parts.append("<p>No slots yet: create one with <code>POST /v1/slots</code>.</p>")
    for slot, versions, aliases, rounds in slots:
        live = aliases.get(("", "production"))
        parts.append(
            f"<section class='slot' id='slot-{escape(slot.name)}'><h2>{escape(slot.name)}</h2>"
            f"<p>Model <code>{escape(str(slot.program.get('model')))}</code>; production is "
            f"version {live}.</p><h3>Versions</h3>{_versions(slot, versions, aliases)}"
            f"<h3>Recent rounds</h3>{_rounds(rounds)}</section>"
        )
    return _doc("paretext service", "".join(parts))
