"""The kernel case study: small numeric C (and CUDA) kernels optimized from evaluator feedback."""

from __future__ import annotations

from ._cuda import CUDA_SEEDS, evaluate_cuda, gpu_available, run_cuda_kernel
from ._evaluate import C_FLAGS, KernelRun, RunStatus, kernel_feedback, kernel_score, run_c_kernel
from ._specs import KERNELS, KernelSpec, Param, get_kernel
from ._study import (
    METHODS,
    MethodRun,
    StudyConfig,
    evaluate_c,
    kernel_seeds,
    kernel_tasks,
    run_method,
)

__all__ = [
    "CUDA_SEEDS",
    "C_FLAGS",
    "KERNELS",
    "METHODS",
    "KernelRun",
    "KernelSpec",
    "MethodRun",
    "Param",
    "RunStatus",
    "StudyConfig",
    "evaluate_c",
    "evaluate_cuda",
    "get_kernel",
    "gpu_available",
    "kernel_feedback",
    "kernel_score",
    "kernel_seeds",
    "kernel_tasks",
    "run_c_kernel",
    "run_cuda_kernel",
    "run_method",
]
