"""Run candidate code against assert-style tests inside the sandbox, one test at a time.

Inside the sandbox, asserts are rewritten (on the syntax tree, so line numbers
and tracebacks still match the source) to report both sides: a failing
``assert f(x) == y`` says what ``f(x)`` returned.  The harness writes one JSON
line per event to a results file, so even a run killed by a limit tells which
test was running.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._sandbox import SandboxLimits, SandboxResult, run_python

__all__ = ["TestOutcome", "TestRun", "run_tests"]


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One test: its source, whether it passed, and the trimmed error when it did not."""

    source: str
    passed: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class TestRun:
    """All tests of one candidate.  ``load_error`` is set when the code itself failed."""

    outcomes: tuple[TestOutcome, ...]
    total: int
    load_error: str
    unfinished: str | None
    sandbox: SandboxResult

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def all_passed(self) -> bool:
        return not self.load_error and self.total > 0 and self.passed == self.total


# Runs inside the sandbox as main.py.  Only the user's files appear in tracebacks.
_HARNESS = r"""
import ast, json, reprlib, sys, traceback
with open("job.json", encoding="utf-8") as _f:
    _job = json.load(_f)
_out = open(_job["results"], "a", encoding="utf-8", buffering=1)
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 160
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxdict = 12
_short.maxlevel = 3
_FILES = {"solution.py", "setup.py"} | {f"test_{i}.py" for i in range(len(_job["tests"]))}

def _emit(**fields):
    _out.write(json.dumps(fields) + "\n")

def _describe(exc):
    report = traceback.TracebackException.from_exception(exc, limit=-8)
    frames = [f for f in report.stack if f.filename in _FILES]
    if isinstance(exc, AssertionError) and frames and frames[-1].filename.startswith("test_"):
        return "".join(report.format_exception_only())  # the rewritten message says it all
    report.stack = traceback.StackSummary.from_list(frames)
    text = "".join(report.format(chain=False))
    return text if len(text) < 3000 else text[:1200] + "\n...\n" + text[-1500:]

class _Rewrite(ast.NodeTransformer):
    def visit_Assert(self, node):
        shown = "assert " + ast.unparse(node.test)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            call = ast.Call(ast.Name("_pt_eq_", ast.Load()),
                            [test.left, test.comparators[0], ast.Constant(shown)], [])
            return ast.copy_location(ast.Expr(call), node)
        node.msg = ast.Constant(shown)
        return node

def _compile_test(source, filename):
    tree = ast.fix_missing_locations(_Rewrite().visit(ast.parse(source, filename)))
    return compile(tree, filename, "exec")

def _pt_eq_(left, right, shown):
    if not (left == right):
        if len(shown) > 300:
            shown = shown[:150] + " ... " + shown[-140:]
        raise AssertionError(
            f"{shown}\n  got:      {_short.repr(left)}\n  expected: {_short.repr(right)}")

_ns = {"__name__": "solution", "__builtins__": __builtins__, "_pt_eq_": _pt_eq_}
for _stage in ("prelude", "code", "setup"):
    _src = _job[_stage]
    if not _src:
        continue
    try:
        exec(compile(_src, f"{'solution' if _stage == 'code' else _stage}.py", "exec"), _ns)
    except BaseException as _e:
        if _stage != "prelude":
            _emit(stage=_stage, ok=False, error=_describe(_e))
            sys.exit(0)
_emit(stage="code", ok=True)
for _i, _test in enumerate(_job["tests"]):
    _emit(stage="start", index=_i)
    try:
        exec(_compile_test(_test, f"test_{_i}.py"), _ns)
    except BaseException as _e:
        _emit(stage="test", index=_i, ok=False, error=_describe(_e))
    else:
        _emit(stage="test", index=_i, ok=True)
"""


def run_tests(
    code: str,
    tests: Sequence[str],
    *,
    prelude: str = "",
    setup: str = "",
    limits: SandboxLimits | None = None,
) -> TestRun:
    """Run ``prelude``, then ``code``, then ``setup``, then each test, in one sandbox.

    ``prelude`` (for instance a HumanEval prompt, defining imports and helpers)
    may fail silently; a failure in ``code`` or ``setup`` stops the run.
    """
    results = f"results-{secrets.token_hex(8)}.jsonl"
    job = {
        "prelude": prelude,
        "code": code,
        "setup": setup,
        "tests": list(tests),
        "results": results,
    }
    files = {
        "job.json": json.dumps(job),
        "solution.py": code,
        "setup.py": setup,
        **{f"test_{i}.py": t for i, t in enumerate(tests)},
    }
    sandbox = run_python(_HARNESS, limits=limits, files=files, collect=[results])
    events = _events(sandbox.files.get(results, ""))
    load_error = ""
    running: int | None = None
    outcomes: list[TestOutcome] = []
    loaded = False
    for event in events:
        if event["stage"] in ("code", "setup") and not event["ok"]:
            load_error = event["error"]
        elif event["stage"] == "code":
            loaded = True
        elif event["stage"] == "start":
            running = event["index"]
        elif event["stage"] == "test":
            running = None
            outcomes.append(TestOutcome(tests[event["index"]], event["ok"], event.get("error", "")))
    unfinished: str | None = None
    if not loaded and not load_error:
        load_error = _died(sandbox, "while loading the code")
    elif running is not None:
        unfinished = tests[running]
    elif not load_error and len(outcomes) < len(tests):  # killed between two tests
        unfinished = tests[len(outcomes)]
    return TestRun(
        outcomes=tuple(outcomes),
        total=len(tests),
        load_error=load_error,
        unfinished=unfinished,
        sandbox=sandbox,
    )


def _events(text: str) -> list[dict[str, Any]]:
    # A run killed mid-write leaves a torn last line: skip it rather than fail the metric.
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "stage" in event:
            events.append(event)
    return events


def _died(sandbox: SandboxResult, when: str) -> str:
    detail = sandbox.stderr.strip()[-1500:]
    return f"The run stopped {when}. {sandbox.describe()}" + (f"\n{detail}" if detail else "")
