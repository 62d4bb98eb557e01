"""The C kernel evaluator on known-good and known-bad kernels, with the real gcc."""

from __future__ import annotations

import os
import shutil

import pytest

from paretext._sections import render_sections
from paretext.tasks import SandboxUnavailable
from paretext.tasks._isolation import _bwrap_problem
from paretext.tasks.kernels import KERNELS, get_kernel, kernel_feedback, kernel_score, run_c_kernel

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@pytest.mark.parametrize("spec", KERNELS, ids=lambda k: k.name)
def test_every_seed_is_correct_and_timed(spec) -> None:  # type: ignore[no-untyped-def]
    run = run_c_kernel(spec.reference, spec, reps=3)
    assert run.status == "ok", run
    assert run.cases_passed == run.cases_total == len(spec.cases) + 1
    assert run.speedup is not None and run.speedup > 0
    fb = kernel_feedback(run)
    assert fb.objectives["correct"] == 1.0
    assert "timing" in fb.sections and "naive reference" in fb.sections["timing"]


def test_a_faster_correct_kernel_is_correct() -> None:
    code = """void prefix_sum(const float *x, float *y, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) { s += x[i]; y[i] = s; }
}"""
    run = run_c_kernel(code, get_kernel("prefix_sum"), reps=3)
    assert run.correct and run.speedup is not None


def test_compile_errors_are_the_feedback() -> None:
    run = run_c_kernel("float dot(const float *x, const float *y, int n) { return x[0] }",
                       get_kernel("dot"))
    fb = kernel_feedback(run)
    assert run.status == "compile_error" and fb.score == 0.0
    assert "error: expected" in fb.sections["compiler"]
    assert fb.text == "It does not compile."


def test_a_changed_signature_is_a_compile_error() -> None:
    code = "void transpose(float *a, float *b, int r, int c) {}"
    run = run_c_kernel(code, get_kernel("transpose"))
    assert run.status == "compile_error"
    assert "conflicting types" in run.compiler


def test_a_missing_function_is_a_link_error() -> None:
    code = "void histo(const int *d, int n, int *b, int m) {}"
    run = run_c_kernel(code, get_kernel("histogram"))
    assert run.status == "link_error"
    assert "undefined reference to `histogram'" in run.link


def test_wrong_results_show_the_first_mismatches() -> None:
    code = """void saxpy(int n, float a, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = a * x[i];
}"""
    run = run_c_kernel(code, get_kernel("saxpy"))
    fb = kernel_feedback(run)
    assert run.status == "wrong" and run.cases_passed == 0
    assert "expected" in fb.sections["correctness"]
    assert "y[0] =" in fb.sections["correctness"]
    assert 0.0 <= fb.score < 0.5


def test_off_by_one_fails_only_some_cases() -> None:
    code = """void conv1d(const float *x, int n, const float *w, int k, float *y) {
    for (int i = 0; i + k < n; i++) {
        float s = 0;
        for (int j = 0; j < k; j++) s += x[i + j] * w[j];
        y[i] = s;
    }
}"""
    run = run_c_kernel(code, get_kernel("conv1d"))
    assert run.status == "wrong"
    assert any("never" in m or "nan" in m.lower() for m in run.mismatches)


def test_writing_to_an_input_is_wrong() -> None:
    code = """void softmax(const float *x, float *y, int n) {
    ((float *)x)[0] = 0;
    for (int i = 0; i < n; i++) y[i] = 1.0f / n;
}"""
    run = run_c_kernel(code, get_kernel("softmax"))
    assert run.status == "wrong"
    assert any("wrote to its input x" in m for m in run.mismatches)


def test_a_crash_says_where() -> None:
    code = """void matmul(const float *a, const float *b, float *c, int n) {
    volatile int *p = 0;
    *p = n;
}"""
    run = run_c_kernel(code, get_kernel("matmul"))
    assert run.status == "crashed"
    assert "SIGSEGV" in run.problem and "n=1" in run.problem
    assert kernel_score(run) == 0.05


def test_an_endless_loop_hits_the_limit() -> None:
    code = """float dot(const float *x, const float *y, int n) {
    volatile int k = 1;
    while (k) {}
    return 0;
}"""
    run = run_c_kernel(code, get_kernel("dot"))
    assert run.status == "timeout"
    assert "CPU time" in run.problem or "wall-clock" in run.problem


@pytest.mark.skipif(_bwrap_problem() is not None, reason="bubblewrap cannot run here")
@pytest.mark.parametrize(
    "body, absent",
    [
        ('FILE *f = fopen("/etc/paretext-pwned", "w"); if (f) fputs("x", f);',
         "/etc/paretext-pwned"),
        ('system("touch /tmp/paretext-pwned-by-kernel");', "/tmp/paretext-pwned-by-kernel"),
    ],
)
def test_escape_attempts_leave_no_trace(body: str, absent: str) -> None:
    code = f"""#include <stdio.h>
#include <stdlib.h>
float dot(const float *x, const float *y, int n) {{
    {body}
    float s = 0; for (int i = 0; i < n; i++) s += x[i] * y[i]; return s;
}}"""
    run = run_c_kernel(code, get_kernel("dot"), reps=3)
    assert run.isolated
    assert run.status == "ok"  # the kernel still computes; its side effects went nowhere
    assert not os.path.exists(absent)


@pytest.mark.skipif(_bwrap_problem() is not None, reason="bubblewrap cannot run here")
def test_a_kernel_cannot_read_the_callers_secrets(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    code = """#include <stdlib.h>
float dot(const float *x, const float *y, int n) {
    float s = 0; for (int i = 0; i < n; i++) s += x[i] * y[i];
    return getenv("OPENAI_API_KEY") ? s + 1.0f : s;
}"""
    assert run_c_kernel(code, get_kernel("dot"), reps=3).status == "ok"


def test_feedback_sections_fit_a_budget() -> None:
    code = "\n".join(f"int unused_{i}(int q) {{ int z; return q; }}" for i in range(80))
    code += "\nfloat dot(const float *x, const float *y, int n) { return 0 }"
    fb = kernel_feedback(run_c_kernel(code, get_kernel("dot")))
    text = render_sections(fb.sections, 600)
    assert len(text) < 800
    assert "omitted" in text


@pytest.mark.usefixtures("without_bwrap")
def test_without_bubblewrap_a_kernel_runs_only_in_the_weak_mode_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = get_kernel("dot")
    with pytest.raises(SandboxUnavailable, match="PARETEXT_SANDBOX=weak"):
        run_c_kernel(spec.reference, spec, reps=3)
    monkeypatch.setenv("PARETEXT_SANDBOX", "weak")
    run = run_c_kernel(spec.reference, spec, reps=3)
    assert run.status == "ok" and not run.isolated
