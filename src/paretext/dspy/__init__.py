"""A drop-in for ``dspy.GEPA`` on paretext's engine (extra ``dspy``).

    from paretext.dspy import GEPA
    optimized = GEPA(metric=metric, auto="light", reflection_lm=dspy.LM(...)).compile(
        program, trainset=train, valset=val)

Importing this package imports DSPy; without it, the error names the extra to
install.  ``import paretext`` never imports it.
"""

from __future__ import annotations

from ..lm._lazy import LazyImport

LazyImport("dspy", "paretext.dspy needs DSPy: pip install 'paretext[dspy]'").get()

from ._lm import DspyLM  # noqa: E402
from ._program import DspyProgram  # noqa: E402
from ._reflect import DspyReflection  # noqa: E402
from ._result import ParetextGEPAResult  # noqa: E402
from ._teleprompter import GEPA, auto_budget  # noqa: E402

__all__ = ["GEPA", "DspyLM", "DspyProgram", "DspyReflection", "ParetextGEPAResult", "auto_budget"]
