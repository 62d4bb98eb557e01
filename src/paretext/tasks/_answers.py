"""Final-answer extraction and comparison for math tasks.

Scoring uses ``math-verify`` when it is installed (symbolic comparison via
sympy); otherwise a careful normalizer handles the common LaTeX spellings of
the same value (``\\dfrac{1}{2}`` = ``0.5`` = ``1/2``, ``10^\\circ`` = ``10``).
"""

from __future__ import annotations

import importlib
import re
import threading
from fractions import Fraction
from functools import cache
from typing import Any

__all__ = ["last_boxed", "math_equal", "normalize_answer", "parse_number"]

_BOX = re.compile(r"\\(?:boxed|fbox)\b")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox``) in ``text``, braces balanced."""
    starts = [m.end() for m in _BOX.finditer(text)]
    for start in reversed(starts):
        i = start
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        return text[i + 1 : j].strip()
        elif i > start:  # "\boxed 5": a bare token after a space
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                return token.group(0)
    return None


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")


def parse_number(text: str) -> Fraction | None:
    """``text`` as an exact number (``1,000``, ``-2.50``, ``3/4``), or ``None``."""
    s = text.strip().replace("$", "").rstrip(".").strip()
    if re.fullmatch(r"[-+]?\d+\s*/\s*\d+", s):
        num, den = s.split("/")
        return Fraction(int(num), int(den)) if int(den) else None
    if _NUMBER.fullmatch(s):
        return Fraction(s.replace(",", ""))
    return None


_TEXT_CMD = re.compile(r"\\(?:text|textbf|mbox|mathrm|textnormal)\{([^{}]*)\}")
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_FRAC_SHORT = re.compile(r"\\frac(\d)(\d)")
_SQRT_SHORT = re.compile(r"\\sqrt(\d+|[a-z])")
_ASSIGN = re.compile(r"^[a-zA-Z]\s*(?:=(?!=)|∈)\s*")


def normalize_answer(answer: str) -> str:
    """A canonical spelling of a LaTeX answer, for exact comparison."""
    s = answer.strip().strip("$").strip()
    for old, new in (
        ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\:", ""),
        ("\\displaystyle", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\%", ""),
        ("%", ""), ("\\$", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("°", ""), ("\\ ", ""),
        ("\\le ", "\\leq "), ("\\ge ", "\\geq "), ("\\infty", "∞"),
    ):  # fmt: skip
        s = s.replace(old, new)
    s = re.sub(r"\\in\b", "∈", s)
    s = _TEXT_CMD.sub(r"\1", s)
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _ASSIGN.sub("", s)
    s = s.rstrip(".").replace(" ", "")
    s = _FRAC.sub(lambda m: f"({m.group(1)})/({m.group(2)})", s)
    s = re.sub(r"\((-?\d+)\)", r"\1", s)
    number = parse_number(s)
    if number is not None:
        return str(number)
    return s


def math_equal(predicted: str, gold: str) -> bool:
    """Whether two final answers denote the same value."""
    if normalize_answer(predicted) == normalize_answer(gold):
        return True
    verifier = _math_verify()
    if verifier is None:
        return False
    # math-verify times out with SIGALRM, which works only on the main thread;
    # elsewhere (the engine runs sync metrics in worker threads) it runs untimed.
    limit = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        gold_parsed = verifier.parse(f"\\boxed{{{gold}}}", parsing_timeout=limit)
        pred_parsed = verifier.parse(f"\\boxed{{{predicted}}}", parsing_timeout=limit)
        return bool(verifier.verify(gold_parsed, pred_parsed, timeout_seconds=limit))
    except Exception:  # a parser crash on odd LaTeX means "not shown equal"
        return False


@cache
def _math_verify() -> Any:
    try:
        return importlib.import_module("math_verify")
    except ImportError:
        return None
