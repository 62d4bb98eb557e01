"""Run other optimizers' programs on paretext's engine.

Each integration is its own subpackage, imported only when asked for, and names
its extra when the library it adapts is missing: ``paretext.adapters.gepa``
(``pip install 'paretext[gepa]'``).  DSPy has its own door, ``paretext.dspy``.
"""

from __future__ import annotations

from ._records import Record, RecordReflection, recorded_feedback, render_record

__all__ = ["Record", "RecordReflection", "recorded_feedback", "render_record"]
