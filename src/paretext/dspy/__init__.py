"""A drop-in for ``dspy.GEPA`` on paretext's engine (extra ``dspy``).

    from paretext.dspy import GEPA
    optimized = GEPA(metric=metric, auto="light", reflection_lm=dspy.LM(...)).compile(
        program, trainset=train, valset=val)

Importing this package imports DSPy; without it, the error names the extra to
install.  ``import paretext`` never imports it.
"""

from __future__ import annotations

from ..errors import ConfigError

try:
    import dspy  # noqa: F401 - fail here, naming the extra, not deep inside
except ImportError:
    raise ConfigError("paretext.dspy needs DSPy: pip install 'paretext[dspy]'") from None

from ._lm import DspyLM
from ._program import DspyProgram
from ._reflect import DspyReflection
from ._result import ParetextGEPAResult
from ._teleprompter import GEPA, auto_budget

__all__ = ["GEPA", "DspyLM", "DspyProgram", "DspyReflection", "ParetextGEPAResult", "auto_budget"]
