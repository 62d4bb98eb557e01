"""Cross-task transfer, read from the texts: which candidate's new idea spread to which tasks.

In batch mode each task has its own artifact.  When a mutation on task ``t``
adds lines that an earlier mutation on another task ``u`` introduced first, the
idea spread from that candidate to ``t``.  Lines are compared by *shape*:
tokens, with the names each task's seed already used (its parameters and
locals) replaced by a placeholder, so ``acc1 += x[i + 1] * y[i + 1]`` in one
kernel and ``acc1 += a[i + 1] * w[i + 1]`` in another match, while lines any
seed already had never count, nor do ``#include`` lines.  Pure: computed from
committed candidates alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._ids import CandidateId, ExampleId
from .._types import Candidate

__all__ = ["Transfer", "find_transfers", "line_shapes"]

_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?[fFuUlL]*|\S")
_MIN_TOKENS = 2
#: Words a shape keeps even where a seed uses them: the language's own, not the task's names.
_KEEP = frozenset(
    {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
        "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
        "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
        "union", "unsigned", "void", "volatile", "while", "size_t", "__restrict", "__restrict__",
        "pragma",
    }
)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Candidate ``source`` introduced lines on ``source_task`` that ``target`` later added on
    ``target_task``; ``lines`` are the target's lines that match, ``gain`` its score change on
    ``target_task`` over its parent."""

    source: CandidateId
    source_task: str
    target: CandidateId
    target_task: str
    lines: tuple[str, ...]
    gain: float


def _names(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text) if (t[0].isalpha() or t[0] == "_") and t not in _KEEP}


def line_shapes(text: str, local_names: set[str]) -> dict[str, str]:
    """Each line's shape (tokens, local names replaced by ``_``) mapped to the line itself."""
    shapes: dict[str, str] = {}
    for line in text.splitlines():
        tokens = _TOKEN.findall(line)
        if len(tokens) < _MIN_TOKENS or tokens[:2] == ["#", "include"]:
            continue  # too short, or a header include: boilerplate every task may add
        shape = " ".join("_" if t in local_names else t for t in tokens)
        shapes.setdefault(shape, line.strip())
    return shapes


def find_transfers(
    candidates: Sequence[Candidate], tasks: Sequence[str], *, min_lines: int = 1
) -> tuple[Transfer, ...]:
    """Transfers among ``candidates`` (commit order, the seed first) of a batch-mode run.

    Each shared line shape is credited to the earliest mutation that introduced it;
    a target adopting at least ``min_lines`` shapes from one source is one transfer.
    """
    if not candidates:
        return ()
    seed = candidates[0]
    by_id = {c.id: c for c in candidates}
    task_set = [t for t in tasks if t in seed.components]
    local = {t: _names(seed.components[t]) for t in task_set}
    seed_shapes: set[str] = set()
    for t in task_set:
        seed_shapes |= set(line_shapes(seed.components[t], local[t]))

    def added(cand: Candidate, task: str) -> dict[str, str]:
        parent = by_id.get(cand.parents[0]) if cand.parents else None
        before = set(line_shapes(parent.components[task], local[task])) if parent else set()
        now = line_shapes(cand.components[task], local[task])
        return {s: line for s, line in now.items() if s not in before and s not in seed_shapes}

    first_seen: dict[str, tuple[CandidateId, str]] = {}
    out: list[Transfer] = []
    for cand in candidates[1:]:
        if cand.origin != "mutation":
            continue
        for task in cand.changed:
            if task not in local:
                continue
            new = added(cand, task)
            from_source: dict[tuple[CandidateId, str], list[str]] = {}
            for shape, line in new.items():
                origin = first_seen.get(shape)
                if origin is not None and origin[1] != task:
                    from_source.setdefault(origin, []).append(line)
            for (source, source_task), lines in from_source.items():
                if len(lines) >= min_lines:
                    out.append(
                        Transfer(source, source_task, cand.id, task, tuple(lines),
                                 _gain(cand, by_id, task))
                    )
            for shape in new:
                first_seen.setdefault(shape, (cand.id, task))
    return tuple(out)


def _gain(cand: Candidate, by_id: Mapping[CandidateId, Candidate], task: str) -> float:
    ex = ExampleId(task)
    parent = by_id.get(cand.parents[0]) if cand.parents else None
    if parent is None or ex not in cand.val_scores or ex not in parent.val_scores:
        return 0.0
    return cand.val_scores[ex] - parent.val_scores[ex]
