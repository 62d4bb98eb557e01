"""The CUDA variant: nvcc's feedback everywhere; running needs a GPU."""

from __future__ import annotations

import pytest

from paretext.tasks.kernels import get_kernel, kernel_feedback
from paretext.tasks.kernels._cuda import CUDA_SEEDS, gpu_available, nvcc_path, run_cuda_kernel

pytestmark = pytest.mark.skipif(nvcc_path() is None, reason="nvcc is not installed")


@pytest.mark.slow
def test_every_cuda_seed_compiles() -> None:
    for name, code in CUDA_SEEDS.items():
        run = run_cuda_kernel(code, get_kernel(name), reps=3)
        assert run.status in ("ok", "no_gpu"), (name, run.compiler)
        if run.status == "no_gpu":
            assert "no CUDA GPU" in run.notes[0]


def test_nvcc_errors_are_the_feedback() -> None:
    code = CUDA_SEEDS["saxpy"].replace("y[i] = a * x[i]", "y[i] = a * * x[i]")
    run = run_cuda_kernel(code, get_kernel("saxpy"))
    fb = kernel_feedback(run)
    assert run.status == "compile_error" and fb.score == 0.0
    assert "error" in fb.sections["compiler"] and "kernel.cu" in fb.sections["compiler"]


def test_a_wrong_signature_is_caught_by_nvcc() -> None:
    code = CUDA_SEEDS["dot"].replace("float dot_gpu(const float *x", "float dot_gpu(float *x")
    run = run_cuda_kernel(code, get_kernel("dot"))
    assert run.status in ("compile_error", "link_error")


@pytest.mark.skipif(gpu_available(), reason="a GPU is present: the kernel runs instead")
def test_without_a_gpu_it_says_why_it_did_not_run() -> None:
    fb = kernel_feedback(run_cuda_kernel(CUDA_SEEDS["dot"], get_kernel("dot")))
    assert fb.text == "It compiles; it was not run (no GPU here)."
    assert "nvidia-smi lists none" in fb.sections["notes"]
    assert fb.objectives["correct"] == 0.0


@pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU on this machine")
def test_on_a_gpu_the_seed_is_correct() -> None:
    run = run_cuda_kernel(CUDA_SEEDS["saxpy"], get_kernel("saxpy"), reps=3)
    assert run.status == "ok", run
