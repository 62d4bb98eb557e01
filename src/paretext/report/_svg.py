"""Inline SVG for the three pictures of a report: lineage tree, frontier heat map, score curve.

Each function takes :class:`ReportData` and returns markup; layout is
computed here from the data and nothing is fetched, so the page works
offline.  Elements carry stable classes (``node``, ``edge``, ``cell``,
``point``) and ``data-id`` attributes: the page script and the browser test
find them by those.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from html import escape

from ._data import CandidateView, ReportData

__all__ = ["colour", "curve_svg", "heatmap_svg", "lineage_svg"]

# Viridis stops: perceptually uniform and readable with the common colour-vision deficiencies.
_STOPS = (
    (0.0, (68, 1, 84)),
    (0.25, (59, 82, 139)),
    (0.5, (33, 145, 140)),
    (0.75, (94, 201, 98)),
    (1.0, (253, 231, 37)),
)


def colour(score: float | None, perfect: float) -> str:
    """The fill for a score in [0, perfect]; grey when there is no score."""
    if score is None or math.isnan(score):
        return "#d0d0d0"
    t = min(1.0, max(0.0, score / perfect if perfect else 0.0))
    for (t0, c0), (t1, c1) in itertools.pairwise(_STOPS):
        if t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            r, g, b = (round(a + (z - a) * f) for a, z in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#fde725"


def _ink(score: float | None, perfect: float) -> str:
    """Text colour that stays legible on :func:`colour`'s fill."""
    return "#111" if score is not None and perfect and score / perfect > 0.6 else "#fff"


def _fmt(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x)}"


def _gradient(gid: str, perfect: float) -> str:
    stops = "".join(
        f'<stop offset="{t:g}" stop-color="{colour(t * perfect, perfect)}"/>' for t, _ in _STOPS
    )
    return f'<linearGradient id="{gid}" x1="0" x2="1" y1="0" y2="0">{stops}</linearGradient>'


# -- lineage tree ----------------------------------------------------------------

_DX, _DY, _R, _PAD = 80, 76, 16, 36


def tree_layout(candidates: Sequence[CandidateView]) -> dict[str, tuple[float, float]]:
    """Rows by generation; within a row, children sit under the mean of their parents."""
    rows: dict[int, list[CandidateView]] = {}
    for c in candidates:
        rows.setdefault(c.depth, []).append(c)
    width = max((len(r) for r in rows.values()), default=1)
    pos: dict[str, tuple[float, float]] = {}
    order = {c.id: i for i, c in enumerate(candidates)}
    for depth in sorted(rows):
        row = rows[depth]
        if depth > 0:
            row.sort(
                key=lambda c: (sum(pos[p][0] for p in c.parents) / len(c.parents), order[c.id])
            )
        offset = (width - len(row)) * _DX / 2
        for i, c in enumerate(row):
            pos[c.id] = (_PAD + offset + i * _DX + _DX / 2, _PAD + depth * _DY)
    return pos


def lineage_svg(data: ReportData) -> str:
    cands = data.candidates
    if not cands:
        return '<p class="empty">No candidate committed yet.</p>'
    pos = tree_layout(cands)
    width = max(x for x, _ in pos.values()) + _DX + _PAD
    height = max(y for _, y in pos.values()) + _PAD + 24
    parts = [
        f'<svg id="lineage-svg" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="Lineage tree of candidates">'
    ]
    for c in cands:
        x2, y2 = pos[c.id]
        for i, p in enumerate(c.parents):
            x1, y1 = pos[p]
            merge = c.origin == "merge"
            note = f" (merge, parent {i + 1})" if merge else ""
            cls = "edge merge" if merge else "edge"
            mid = (y1 + y2) / 2
            parts.append(
                f'<path class="{cls}" data-from="{escape(p)}" data-to="{escape(c.id)}" '
                f'd="M{x1:.1f},{y1 + _R:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} '
                f'{x2:.1f},{y2 - _R:.1f}"><title>{escape(p)} → {escape(c.id)}{note}'
                "</title></path>"
            )
    for c in cands:
        x, y = pos[c.id]
        fill = colour(c.score, data.perfect_score)
        classes = "node" + (" frontier" if c.on_frontier else "") + (" best" if c.is_best else "")
        origin = "seed" if not c.parents else f"{c.origin} of {' + '.join(c.parents)}"
        tip = (
            f"{c.id} · {origin} · score {_fmt(c.score)} · best on {c.wins} of {len(c.scores)}"
            + (" · on the frontier" if c.on_frontier else "")
            + (" · best" if c.is_best else "")
        )
        ring = f'<circle class="best-ring" r="{_R + 5}"/>' if c.is_best else ""
        parts.append(
            f'<g class="{classes}" data-id="{escape(c.id)}" data-score="{c.score:.6g}" '
            f'transform="translate({x:.1f},{y:.1f})" tabindex="0">{ring}'
            f'<circle class="dot" r="{_R}" fill="{fill}"/>'
            f'<text class="label" dy="4" fill="{_ink(c.score, data.perfect_score)}">'
            f"{escape(c.id)}</text>"
            f'<text class="score" x="{_R + 9}" dy="4">{_fmt(c.score)}</text>'
            f"<title>{escape(tip)}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


# -- heat map ------------------------------------------------------------------------

_LABEL_W, _TOP_H, _ROW_H = 104, 78, 18


def heatmap_svg(data: ReportData) -> str:
    cands, inst = data.candidates, data.instances
    if not cands or not inst:
        return '<p class="empty">No validation scores yet.</p>'
    cw = max(6.0, min(28.0, 760 / len(inst)))
    show_cols = cw >= 11
    top = _TOP_H if show_cols else 16
    width = _LABEL_W + cw * len(inst) + 12
    height = top + _ROW_H * len(cands) + 52
    parts = [
        f'<svg id="heatmap-svg" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="Scores of each candidate on each validation instance">',
        f"<defs>{_gradient('hm-grad', data.perfect_score)}</defs>",
    ]
    if show_cols:
        for j, ex in enumerate(inst):
            x = _LABEL_W + j * cw + cw / 2 + 4
            label = ex if len(ex) <= 12 else ex[:11] + "…"
            parts.append(
                f'<text class="col" transform="translate({x:.1f},{top - 6}) rotate(-60)">'
                f"{escape(label)}</text>"
            )
    for i, c in enumerate(cands):
        y = top + i * _ROW_H
        mark = ("★ " if c.is_best else "") + ("◆ " if c.on_frontier and not c.is_best else "")
        cls = "row-label" + (" frontier" if c.on_frontier else "")
        parts.append(
            f'<text class="{cls}" data-id="{escape(c.id)}" x="{_LABEL_W - 8}" y="{y + 13}">'
            f"{escape(mark + c.id)} {_fmt(c.score)}</text>"
        )
        for j, (ex, s) in enumerate(zip(inst, c.scores, strict=True)):
            x = _LABEL_W + j * cw
            cls = "cell" if s is not None else "cell missing"
            shown = "—" if s is None else _fmt(s)
            parts.append(
                f'<rect class="{cls}" data-id="{escape(c.id)}" data-ex="{escape(ex)}" x="{x:.1f}" '
                f'y="{y}" width="{max(cw - 1, 1):.1f}" height="{_ROW_H - 1}" '
                f'fill="{colour(s, data.perfect_score)}"><title>{escape(c.id)} on {escape(ex)}: '
                f"{shown}</title></rect>"
            )
    ly = top + _ROW_H * len(cands) + 18
    parts.append(
        f'<rect x="{_LABEL_W}" y="{ly}" width="160" height="10" fill="url(#hm-grad)"/>'
        f'<text class="axis" x="{_LABEL_W}" y="{ly + 24}">0</text>'
        f'<text class="axis" x="{_LABEL_W + 160}" y="{ly + 24}" text-anchor="end">'
        f"{_fmt(data.perfect_score)}</text>"
        f'<text class="axis" x="{_LABEL_W + 176}" y="{ly + 9}">★ best · ◆ on the frontier</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


# -- score against rollouts --------------------------------------------------------------

_CW, _CH, _ML, _MR, _MT, _MB = 760, 300, 52, 20, 16, 42


def _ticks(hi: float, n: int = 5) -> list[float]:
    if hi <= 0:
        return [0.0]
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(hi / step + 1e-9) + 1)]


def curve_svg(data: ReportData) -> str:
    pts = data.curve
    if not pts:
        return '<p class="empty">No commit recorded yet.</p>'
    x_hi = float(max(data.rollouts_limit or 0, pts[-1].rollouts, data.rollouts_used, 1))
    y_hi = data.perfect_score
    pw, ph = _CW - _ML - _MR, _CH - _MT - _MB

    def sx(v: float) -> float:
        return _ML + pw * v / x_hi

    def sy(v: float) -> float:
        return _MT + ph * (1 - min(max(v / y_hi, 0.0), 1.0))

    parts = [
        f'<svg id="curve-svg" xmlns="http://www.w3.org/2000/svg" width="{_CW}" height="{_CH}" '
        f'viewBox="0 0 {_CW} {_CH}" role="img" aria-label="Best validation score against rollouts">'
    ]
    for t in _ticks(x_hi):
        parts.append(
            f'<line class="grid" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{_MT}" y2="{_MT + ph}"/>'
            f'<text class="axis" x="{sx(t):.1f}" y="{_MT + ph + 16}" text-anchor="middle">'
            f"{_fmt(t)}</text>"
        )
    for t in _ticks(y_hi, 4):
        parts.append(
            f'<line class="grid" x1="{_ML}" x2="{_ML + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
            f'<text class="axis" x="{_ML - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">'
            f"{_fmt(t)}</text>"
        )
    parts.append(
        f'<text class="axis-title" x="{_ML + pw / 2}" y="{_CH - 6}" '
        'text-anchor="middle">rollouts</text>'
        f'<text class="axis-title" transform="translate(12,{_MT + ph / 2}) rotate(-90)" '
        'text-anchor="middle">validation score</text>'
    )
    if data.rollouts_limit:
        x = sx(data.rollouts_limit)
        parts.append(
            f'<line class="limit" x1="{x:.1f}" x2="{x:.1f}" y1="{_MT}" y2="{_MT + ph}"/>'
            f'<text class="axis" x="{x - 4:.1f}" y="{_MT + 12}" text-anchor="end">budget</text>'
        )
    d = [f"M{sx(pts[0].rollouts):.1f},{sy(pts[0].best_score):.1f}"]
    for prev, p in itertools.pairwise(pts):
        d.append(f"H{sx(p.rollouts):.1f}")
        if p.best_score != prev.best_score:
            d.append(f"V{sy(p.best_score):.1f}")
    d.append(f"H{sx(max(data.rollouts_used, pts[-1].rollouts)):.1f}")
    parts.append(f'<path class="curve" d="{" ".join(d)}"/>')
    # Candidates that set a new best are drawn last, so a tie at the same spot cannot hide them.
    for p in sorted(pts, key=lambda q: q.best == q.candidate):
        if p.candidate is None or p.candidate_score is None:
            continue
        is_best = p.best == p.candidate
        tip = (
            f"{p.candidate}: {_fmt(p.candidate_score)} at {p.rollouts} rollouts · "
            f"best {_fmt(p.best_score)} ({p.best}) · frontier {p.frontier_size}"
        )
        parts.append(
            f'<circle class="point{" record" if is_best else ""}" data-id="{escape(p.candidate)}" '
            f'cx="{sx(p.rollouts):.1f}" cy="{sy(p.candidate_score):.1f}" r="4.5">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
