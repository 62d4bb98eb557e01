"""Small text helpers shared by the metrics: feedback must stay short enough to reflect on."""

from __future__ import annotations

__all__ = ["clip", "indent", "last_nonempty_line"]


def clip(text: str, limit: int = 1200) -> str:
    """Keep the head and tail of ``text`` within ``limit`` characters, marking the cut.

    Tracebacks and solutions are most informative at both ends, so the middle goes.
    """
    if limit < 40:
        raise ValueError("limit must be at least 40 characters")
    if len(text) <= limit:
        return text
    marker = f"\n…[{len(text) - limit} characters cut]…\n"
    keep = max(limit - len(marker), 20)
    head = keep // 2
    return text[:head] + marker + text[len(text) - (keep - head) :]


def indent(text: str, prefix: str = "    ") -> str:
    """Indent every line, so quoted output stands apart from the feedback around it."""
    return "\n".join(prefix + line for line in text.splitlines()) if text else prefix


def last_nonempty_line(text: str) -> str:
    """The last line with visible characters, stripped; empty when there is none."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""
