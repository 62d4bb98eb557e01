"""Side information as named sections, held to a size budget for reflection.

An evaluator's side information (compiler output, failing tests, timings,
profiler lines) is most useful whole, but it can be long and repetitive: the
same warning for every call site, the same failure for every element.  So each
section has its repeated lines collapsed first, then the sections share the
budget (a short one is kept whole and leaves its share to the others), and a
section still too long keeps its head and tail with the cut marked.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["collapse_repeats", "render_sections", "truncate_middle"]

_MIN_SHARE = 120


def truncate_middle(text: str, limit: int) -> str:
    """Keep the head and tail of ``text`` within ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    marker = "\n[... {} characters omitted ...]\n"
    keep = max(0, limit - len(marker.format(len(text))))
    head = keep * 2 // 3
    tail = keep - head
    omitted = len(text) - head - tail
    return text[:head] + marker.format(omitted) + (text[-tail:] if tail else "")


def collapse_repeats(text: str) -> str:
    """Collapse runs of an identical line into one with a count; drop later exact repeats.

    Lines are compared with surrounding whitespace removed; blank lines are kept.
    """
    out: list[str] = []
    seen: set[str] = set()
    dropped = 0
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        key = line.strip()
        j = i + 1
        while key and j < len(lines) and lines[j].strip() == key:
            j += 1
        run = j - i
        if key and key in seen:
            dropped += run
        elif run > 1:
            out.append(f"{line}  [repeated {run} times]")
        else:
            out.append(line)
        if key:
            seen.add(key)
        i = j
    if dropped:
        out.append(f"[{dropped} repeated line{'s' if dropped > 1 else ''} omitted]")
    return "\n".join(out)


def render_sections(sections: Mapping[str, str], budget: int = 2400) -> str:
    """``## name`` blocks, repeats collapsed, fitted together into about ``budget`` characters.

    Shares are filled shortest first: a section under its fair share is kept whole
    and what it leaves goes to the longer ones.  Every section keeps at least a
    small head and tail, so none disappears.
    """
    bodies = {name: collapse_repeats(str(body).strip()) for name, body in sections.items()}
    bodies = {name: body for name, body in bodies.items() if body}
    if not bodies:
        return ""
    overhead = sum(len(name) + 5 for name in bodies)
    remaining = max(budget - overhead, _MIN_SHARE * len(bodies))
    limits: dict[str, int] = {}
    pending = sorted(bodies, key=lambda n: len(bodies[n]))
    while pending:
        share = max(_MIN_SHARE, remaining // len(pending))
        name = pending.pop(0)
        limits[name] = min(len(bodies[name]), share)
        remaining -= limits[name]
    return "\n".join(f"## {name}\n{truncate_middle(bodies[name], limits[name])}" for name in bodies)
