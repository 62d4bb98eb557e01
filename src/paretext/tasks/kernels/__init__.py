"""The kernel case study: small numeric C (and CUDA) kernels optimized from evaluator feedback."""

from __future__ import annotations

from ._evaluate import C_FLAGS, KernelRun, RunStatus, kernel_feedback, kernel_score, run_c_kernel
from ._specs import KERNELS, KernelSpec, Param, get_kernel

__all__ = [
    "C_FLAGS",
    "KERNELS",
    "KernelRun",
    "KernelSpec",
    "Param",
    "RunStatus",
    "get_kernel",
    "kernel_feedback",
    "kernel_score",
    "run_c_kernel",
]
