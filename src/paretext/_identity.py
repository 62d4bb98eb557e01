"""Code identity: what a run's program and metric *are*, so a resume can tell they changed.

A run's recorded rollouts hold only while the code that produced them is the
same.  The identity of a callable is the hash of its source and of its whole
module file (a helper it calls may live beside it); a :class:`~paretext.Pipeline`
is its steps, templates, model string and sampling settings.  Kept apart from
the rest of the run fingerprint (data, settings) so each can change alone.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["CODE_PARTS", "code_identity", "describe_code_change"]

#: What a rollout depends on besides its candidate and example, in the order reported.
CODE_PARTS = ("program", "metric")


def code_identity(program: object, metric: object) -> dict[str, dict[str, str]]:
    """``{"program": {"name", "hash"}, "metric": {...}}`` for the run fingerprint."""
    return {"program": _identity(program), "metric": _identity(metric)}


def describe_code_change(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """Each part that changed, as ``"the metric (metric in task.py)"``; empty when none."""
    changed = []
    for part in CODE_PARTS:
        old, new = stored.get(part), given.get(part)
        if old != new:
            name = (new or {}).get("name") or (old or {}).get("name") or "?"
            changed.append(f"the {part} ({name})")
    return changed


def _identity(obj: object) -> dict[str, str]:
    parts: list[str] = []
    _describe(obj, parts, depth=0)
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
    return {"name": _name(obj), "hash": digest}


def _name(obj: object) -> str:
    fn = _wrapped(obj)
    if fn is not None:
        where = Path(getattr(getattr(fn, "__code__", None), "co_filename", "") or "?").name
        return f"{getattr(fn, '__qualname__', type(fn).__name__)} in {where}"
    steps = getattr(obj, "steps", None)
    model = getattr(getattr(obj, "lm", None), "model", None)
    if steps is not None and model is not None:
        return f"{type(obj).__name__} on {model}"
    return type(obj).__name__


def _wrapped(obj: object) -> Callable[..., Any] | None:
    """The user's function inside paretext's wrappers (Metric, FunctionProgram), if any."""
    inner = getattr(obj, "fn", None)
    if callable(inner) and inner is not obj:
        return _wrapped(inner) or inner
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return obj
    return None


def _describe(obj: object, parts: list[str], depth: int) -> None:
    if depth > 8:
        parts.append(type(obj).__qualname__)
        return
    inner = getattr(obj, "fn", None)  # Metric and FunctionProgram wrap the user's callable
    if callable(inner) and inner is not obj:
        _describe(inner, parts, depth + 1)
        parts.append(repr(getattr(obj, "perfect_score", "")))
        return
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        _describe_function(obj, parts)
        return
    if isinstance(obj, functools.partial):
        _describe(obj.func, parts, depth + 1)
        parts.append(repr((obj.args, sorted(obj.keywords.items()))))
        return
    steps = getattr(obj, "steps", None)
    if steps is not None:  # a Pipeline: what each step sends, to which model
        parts.append(str(getattr(getattr(obj, "lm", None), "model", "")))
        for name in ("temperature", "max_tokens", "response_format"):
            parts.append(repr(getattr(obj, name, None)))
        for step in steps:
            parts += [str(getattr(step, "component", "")), str(getattr(step, "name", ""))]
            _describe(getattr(step, "template", ""), parts, depth + 1)
        return
    if isinstance(obj, str | int | float | bool | type(None)):
        parts.append(repr(obj))
        return
    # Any other object (a Program class, a callable instance): its class and module.
    cls = type(obj)
    parts.append(f"{cls.__module__}.{cls.__qualname__}")
    parts.append(_module_source(inspect.getmodule(cls), None))


def _describe_function(fn: Callable[..., Any], parts: list[str]) -> None:
    fn = inspect.unwrap(fn)
    func = getattr(fn, "__func__", fn)
    code = getattr(func, "__code__", None)
    parts.append(f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}")
    try:
        parts.append(inspect.getsource(func))
    except (OSError, TypeError):
        if code is not None:  # defined where no source is kept (a REPL): its compiled form
            parts.append(code.co_code.hex() + repr(code.co_consts))
    filename = getattr(code, "co_filename", None) if code is not None else None
    parts.append(_module_source(inspect.getmodule(func), filename))


def _module_source(module: object, filename: str | None) -> str:
    path = filename or getattr(module, "__file__", None)
    if path and Path(path).is_file():
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            pass
    return ""
