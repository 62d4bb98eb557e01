"""Compile a C kernel with gcc in the sandbox, check it against its reference, time it.

Three commands share one :class:`~paretext.tasks.Sandbox` (so a machine without
bubblewrap refuses the code unless ``PARETEXT_SANDBOX=weak`` is chosen): compile the
candidate alone (its diagnostics are the compiler feedback), link it with the
reference and the generated driver, run the driver pinned to one CPU.  The result
is a :class:`KernelRun` (the facts) and, through :func:`kernel_feedback`, a
:class:`~paretext.Feedback` whose sections reflection reads: compiler output,
the first mismatching values, the crash or limit, and the speed-up with its noise.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..._types import Feedback
from .._sandbox import Sandbox, SandboxLimits, SandboxResult
from .._text import clip
from ._driver import driver_source, reference_source
from ._specs import KernelSpec

__all__ = [
    "C_FLAGS",
    "KernelRun",
    "RunStatus",
    "kernel_feedback",
    "kernel_score",
    "run_c_kernel",
]

#: How candidates and references are compiled (shown to the writing model).
C_FLAGS: tuple[str, ...] = ("-O2", "-march=native", "-std=gnu11")
COMPILE_LIMITS = SandboxLimits(wall_seconds=30.0, cpu_seconds=20, memory_bytes=1 << 30)
RUN_LIMITS = SandboxLimits(wall_seconds=12.0, cpu_seconds=6, memory_bytes=1 << 30)

RunStatus = Literal["ok", "compile_error", "link_error", "wrong", "crashed", "timeout", "no_gpu"]


@dataclass(frozen=True, slots=True)
class KernelRun:
    """What one evaluation of a kernel found.  ``speedup`` is ``None`` unless it was timed."""

    kernel: str
    status: RunStatus
    cases_passed: int
    cases_total: int
    speedup: float | None = None
    ratio_iqr: tuple[float, float] | None = None
    ref_seconds: float | None = None
    cand_seconds: float | None = None
    reps: int = 0
    compiler: str = ""
    link: str = ""
    mismatches: tuple[str, ...] = ()
    problem: str = ""
    cpu: int | None = None
    isolated: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def correct(self) -> bool:
        return self.status == "ok"

    @property
    def noise(self) -> float | None:
        """Interquartile spread of the per-run speed-up ratios, relative to the median."""
        if self.ratio_iqr is None or not self.speedup:
            return None
        return (self.ratio_iqr[1] - self.ratio_iqr[0]) / self.speedup

    def to_dict(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "status": self.status,
            "correct": self.correct,
            "cases_passed": self.cases_passed,
            "cases_total": self.cases_total,
            "speedup": self.speedup,
            "noise": self.noise,
        }


def kernel_score(run: KernelRun) -> float:
    """One number in [0, 1] the search maximizes: correctness first, then speed-up.

    A correct kernel scores ``0.5 + log2(speedup) / 8`` clipped to [0.3, 1] (the naive
    reference 0.5, 16x faster 1.0); a wrong one up to 0.2 for the cases it passes; a
    crash or timeout 0.05; a compile or link error 0.
    """
    if run.status in ("compile_error", "link_error"):
        return 0.0
    if run.status in ("crashed", "timeout"):
        return 0.05
    if run.status == "wrong":
        return 0.2 * run.cases_passed / max(1, run.cases_total)
    if run.speedup is None:  # correct but not timed (compiled only)
        return 0.5
    return min(1.0, max(0.3, 0.5 + math.log2(max(run.speedup, 1e-9)) / 8))


def pinned_cpu() -> int | None:
    """The CPU timed runs are pinned to: the last one this process may use."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:  # pragma: no cover - not Linux
        return None
    cpus = sorted(getaffinity(0))
    return cpus[-1] if cpus else None


def run_c_kernel(
    code: str,
    spec: KernelSpec,
    *,
    flags: Sequence[str] = C_FLAGS,
    reps: int = 15,
    limits: SandboxLimits = RUN_LIMITS,
) -> KernelRun:
    """Compile, check and time ``code`` as kernel ``spec`` (see the module docstring)."""
    files = {
        "kernel.c": code,
        "kernel.h": spec.prototype() + ";\n",
        "ref.c": reference_source(spec),
        "driver.c": driver_source(spec, reps=reps),
    }
    total = len(spec.cases) + 1
    with Sandbox(files) as box:
        compiled = box.run(
            ["gcc", *flags, "-Wall", "-include", "kernel.h", "-c", "kernel.c", "-o", "kernel.o"],
            limits=COMPILE_LIMITS,
        )
        isolated = box.isolation == "namespaces"
        if not compiled.ok:
            return KernelRun(spec.name, "compile_error", 0, total,
                             compiler=command_diagnostics(compiled), isolated=isolated)
        linked = box.run(
            ["gcc", *flags, "driver.c", "ref.c", "kernel.o", "-o", "bench", "-lm"],
            limits=COMPILE_LIMITS,
        )
        warnings = compiled.stderr.strip()
        if not linked.ok:
            return KernelRun(spec.name, "link_error", 0, total, compiler=warnings,
                             link=command_diagnostics(linked), isolated=isolated)
        cpu = pinned_cpu()
        ran = box.run(["./bench"], limits=limits, pin_cpu=cpu)
    return parse_run(spec, ran, total=total, compiler=warnings, cpu=cpu)


def command_diagnostics(result: SandboxResult) -> str:
    text = (result.stderr + result.stdout).strip()
    if result.status != "error":
        text = f"{text}\n{result.describe()}".strip()
    return text


def parse_run(
    spec: KernelSpec, ran: SandboxResult, *, total: int, compiler: str = "", cpu: int | None = None
) -> KernelRun:
    """Read the driver's JSON lines into a :class:`KernelRun`."""
    events = _events(ran.stdout)
    sizes: dict[int, Mapping[str, int]] = {}
    wrong_cases: set[int] = set()
    mismatches: list[str] = []
    timing: Mapping[str, Any] | None = None
    for ev in events:
        kind = ev.get("event")
        case = int(ev.get("case", -1))
        if kind == "case":
            sizes[case] = ev.get("sizes", {})
        elif kind == "mismatch":
            where = _sizes_text(sizes.get(case, {}))
            mismatches.append(
                f"case {where}: {ev['what']}[{ev['index']}] = {ev['got']}, expected {ev['want']}"
                if ev["what"] != "return value"
                else f"case {where}: returned {ev['got']}, expected {ev['want']}"
            )
        elif kind == "wrong":
            wrong_cases.add(case)
            mismatches.append(
                f"case {_sizes_text(sizes.get(case, {}))}: {ev['count']} of {ev['of']} values "
                f"of {ev['what']} wrong"
            )
        elif kind == "input_modified":
            wrong_cases.add(case)
            mismatches.append(
                f"case {_sizes_text(sizes.get(case, {}))}: the kernel wrote to its input "
                f"{ev['what']}, which must stay unchanged"
            )
        elif kind == "timing":
            timing = ev
    finished = any(ev.get("event") == "done" for ev in events)
    reached = len(sizes)
    base: dict[str, Any] = {"compiler": compiler, "cpu": cpu, "mismatches": tuple(mismatches),
                            "isolated": ran.isolation == "namespaces"}
    if not finished:
        last = sizes.get(reached - 1, {})
        status: RunStatus = "timeout" if ran.status in ("timeout", "cpu_limit") else "crashed"
        problem = f"{ran.describe()} This happened during case {_sizes_text(last)}."
        tail = clip(ran.stderr.strip(), 600) if ran.stderr.strip() else ""
        passed = max(0, reached - 1 - len(wrong_cases))
        return KernelRun(spec.name, status, passed, total,
                         problem=f"{problem}\n{tail}".strip(), **base)
    passed = total - len(wrong_cases)
    if wrong_cases:
        return KernelRun(spec.name, "wrong", passed, total, **base)
    if timing is None:  # pragma: no cover - the driver always times a correct bench case
        return KernelRun(spec.name, "ok", passed, total, **base)
    return KernelRun(
        spec.name,
        "ok",
        passed,
        total,
        speedup=float(timing["speedup"]),
        ratio_iqr=(float(timing["ratio_q1"]), float(timing["ratio_q3"])),
        ref_seconds=float(timing["ref_s"]),
        cand_seconds=float(timing["cand_s"]),
        reps=int(timing["reps"]),
        **base,
    )


def _events(stdout: str) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _sizes_text(sizes: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) or "?"


def _seconds(value: float) -> str:
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def kernel_feedback(run: KernelRun) -> Feedback:
    """The run as feedback: a one-line verdict plus sections for reflection."""
    sections: dict[str, str] = {}
    if run.compiler:
        sections["compiler"] = run.compiler
    if run.link:
        sections["linker"] = run.link
    if run.mismatches:
        sections["correctness"] = (
            f"{run.cases_passed} of {run.cases_total} test cases passed.\n"
            + "\n".join(run.mismatches)
        )
    if run.problem:
        sections["run"] = run.problem
    if run.speedup is not None:
        spread = ""
        if run.ratio_iqr is not None:
            spread = (f"; run-to-run spread (interquartile) {run.ratio_iqr[0]:.2f}x to "
                      f"{run.ratio_iqr[1]:.2f}x")
        pinned = f", pinned to CPU {run.cpu}" if run.cpu is not None else ""
        assert run.ref_seconds is not None and run.cand_seconds is not None
        sections["timing"] = (
            f"speed-up {run.speedup:.2f}x over the naive reference (median of {run.reps} "
            f"paired runs{pinned}): reference {_seconds(run.ref_seconds)}, yours "
            f"{_seconds(run.cand_seconds)}{spread}."
        )
    for note in run.notes:
        sections.setdefault("notes", "")
        sections["notes"] = (sections["notes"] + "\n" + note).strip()
    verdict = {
        "compile_error": "It does not compile.",
        "link_error": "It compiles but does not link.",
        "wrong": f"It compiles but gives wrong results ({run.cases_passed} of "
        f"{run.cases_total} cases right).",
        "crashed": "It crashed.",
        "timeout": "It was too slow or never finished.",
        "no_gpu": "It compiles; it was not run (no GPU here).",
        "ok": "Correct"
        + (f"; {run.speedup:.2f}x the speed of the naive reference." if run.speedup else "."),
    }[run.status]
    return Feedback(
        kernel_score(run),
        verdict,
        objectives={"correct": 1.0 if run.correct else 0.0, "speedup": run.speedup or 0.0},
        sections=sections,
    )
