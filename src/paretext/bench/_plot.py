"""The benchmark's figure: best validation score against rollouts, one panel per task.

Data first (:func:`curve_data`, tested), drawing second.  PNG through matplotlib
(imported lazily; ``pip install matplotlib``); without it an SVG is written instead.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ._core import SEED_ROW, RunRecord

__all__ = ["Curve", "curve_data", "write_plot"]

#: (optimizer, grid of rollouts, mean best validation score over seeds at each grid point)
Curve = tuple[str, tuple[int, ...], tuple[float, ...]]

_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666")


def _step_value(curve: Sequence[tuple[int, float]], x: int) -> float | None:
    """Best validation score known once ``x`` rollouts were spent (None before the seed)."""
    value = None
    for spent, best in curve:
        if spent > x:
            break
        value = best
    return value


def curve_data(runs: Sequence[RunRecord]) -> dict[str, list[Curve]]:
    """Per task, per optimizer: the mean over seeds of the best-so-far validation score."""
    out: dict[str, list[Curve]] = {}
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in runs:
        if r.optimizer != SEED_ROW and r.curve:
            groups.setdefault((r.task, r.optimizer), []).append(r)
    for (task, opt), rs in groups.items():
        xs = sorted({x for r in rs for x, _ in r.curve} | {max(r.rollouts_used for r in rs)})
        ys: list[float] = []
        grid: list[int] = []
        for x in xs:
            values = [v for r in rs if (v := _step_value(r.curve, x)) is not None]
            if len(values) == len(rs):
                grid.append(x)
                ys.append(math.fsum(values) / len(values))
        out.setdefault(task, []).append((opt, tuple(grid), tuple(ys)))
    return out


def write_plot(runs: Sequence[RunRecord], path: Path, *, title: str = "") -> Path:
    """Write the figure to ``path`` (.png); falls back to ``path.with_suffix('.svg')``."""
    data = curve_data(runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        svg = path.with_suffix(".svg")
        svg.write_text(_svg(data, title))
        return svg
    tasks = list(data) or ["(no runs)"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for i, (opt, xs, ys) in enumerate(data.get(task, [])):
            ax.step(xs, ys, where="post", label=opt, color=_COLOURS[i % len(_COLOURS)], lw=1.8)
        ax.set_title(task)
        ax.set_xlabel("rollouts")
        ax.set_ylabel("best validation score")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle("\n".join(textwrap.wrap(title, 60 * len(tasks))), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _svg(data: Mapping[str, list[Curve]], title: str) -> str:
    w, h, pad = 520, 320, 48
    panels: list[str] = []
    for k, (task, curves) in enumerate(data.items()):
        xmax = max((max(xs) for _, xs, _ in curves if xs), default=1) or 1
        ox = k * w
        parts: list[Any] = [
            f'<text x="{ox + w / 2}" y="20" text-anchor="middle">{escape(task)}</text>',
            f'<line x1="{ox + pad}" y1="{h - pad}" x2="{ox + w - 10}" y2="{h - pad}" '
            'stroke="#333"/>',
            f'<line x1="{ox + pad}" y1="{h - pad}" x2="{ox + pad}" y2="30" stroke="#333"/>',
            f'<text x="{ox + w / 2}" y="{h - 10}" text-anchor="middle">rollouts (0–{xmax})</text>',
        ]
        for i, (opt, xs, ys) in enumerate(curves):
            pts: list[str] = []
            for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
                px = ox + pad + (w - pad - 10) * x / xmax
                py = (h - pad) - (h - pad - 30) * y
                if j:
                    pts.append(f"{px:.1f},{float(pts[-1].split(',')[1]):.1f}")
                pts.append(f"{px:.1f},{py:.1f}")
            colour = _COLOURS[i % len(_COLOURS)]
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                         f'points="{" ".join(pts)}"/>')
            parts.append(f'<text x="{ox + w - 120}" y="{h - pad - 12 - 14 * i}" '
                         f'fill="{colour}" font-size="11">{escape(opt)}</text>')
        panels.append("".join(parts))
    width = max(1, len(data)) * w
    head = f'<text x="10" y="{h + 14}" font-size="11">{escape(title)}</text>' if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 20}" '
            f'font-family="sans-serif" font-size="12">{"".join(panels)}{head}</svg>\n')
