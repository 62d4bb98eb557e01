"""The CUDA variant of the batch: the same kernels as ``.cu`` artifacts, compiled with nvcc.

A CUDA artifact defines ``<name>_gpu`` with the C kernel's parameters, its
arrays in device memory.  nvcc's diagnostics are feedback on every machine;
where a GPU is present (``nvidia-smi`` lists one) a generated adapter copies
the C driver's inputs to the device, calls ``<name>_gpu`` and copies the
outputs back, so the same checks and timings run (timed end to end, copies
included).  Without a GPU the evaluation stops after compiling and says so.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..._types import Feedback
from .._sandbox import Sandbox, SandboxLimits
from ._driver import driver_source, reference_source
from ._evaluate import (
    C_FLAGS,
    RUN_LIMITS,
    KernelRun,
    command_diagnostics,
    kernel_feedback,
    parse_run,
    pinned_cpu,
)
from ._specs import KernelSpec, get_kernel

__all__ = [
    "CUDA_SEEDS",
    "NVCC_FLAGS",
    "cuda_prototype",
    "evaluate_cuda",
    "gpu_available",
    "nvcc_path",
    "run_cuda_kernel",
]

NVCC_FLAGS: tuple[str, ...] = ("-O2",)
NVCC_LIMITS = SandboxLimits(wall_seconds=120.0, cpu_seconds=90, memory_bytes=8 << 30)

_LAUNCH = "int threads = 256; int blocks = (n + threads - 1) / threads;"

CUDA_SEEDS: Mapping[str, str] = {
    "dot": """__global__ void dot_kernel(const float *x, const float *y, int n, float *out) {
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += x[i] * y[i];
    *out = sum;
}

float dot_gpu(const float *x, const float *y, int n) {
    float *d_out, out;
    cudaMalloc(&d_out, sizeof(float));
    dot_kernel<<<1, 1>>>(x, y, n, d_out);
    cudaMemcpy(&out, d_out, sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(d_out);
    return out;
}
""",
    "saxpy": f"""__global__ void saxpy_kernel(int n, float a, const float *x, float *y) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}}

void saxpy_gpu(int n, float a, const float *x, float *y) {{
    {_LAUNCH}
    saxpy_kernel<<<blocks, threads>>>(n, a, x, y);
    cudaDeviceSynchronize();
}}
""",
    "matmul": """__global__ void matmul_kernel(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && j < n) {
        float sum = 0.0f;
        for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
        c[i * n + j] = sum;
    }
}

void matmul_gpu(const float *a, const float *b, float *c, int n) {
    dim3 threads(16, 16);
    dim3 blocks((n + 15) / 16, (n + 15) / 16);
    matmul_kernel<<<blocks, threads>>>(a, b, c, n);
    cudaDeviceSynchronize();
}
""",
    "conv1d": f"""__global__ void conv1d_kernel(const float *x, int n, const float *w, int k,
                              float *y) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i + k <= n) {{
        float sum = 0.0f;
        for (int j = 0; j < k; j++) sum += x[i + j] * w[j];
        y[i] = sum;
    }}
}}

void conv1d_gpu(const float *x, int n, const float *w, int k, float *y) {{
    {_LAUNCH}
    conv1d_kernel<<<blocks, threads>>>(x, n, w, k, y);
    cudaDeviceSynchronize();
}}
""",
    "softmax": """__global__ void softmax_kernel(const float *x, float *y, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) { y[i] = expf(x[i] - max); sum += y[i]; }
    for (int i = 0; i < n; i++) y[i] = y[i] / sum;
}

void softmax_gpu(const float *x, float *y, int n) {
    softmax_kernel<<<1, 1>>>(x, y, n);
    cudaDeviceSynchronize();
}
""",
    "prefix_sum": f"""__global__ void prefix_sum_kernel(const float *x, float *y, int n) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {{
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) sum += x[j];
        y[i] = sum;
    }}
}}

void prefix_sum_gpu(const float *x, float *y, int n) {{
    {_LAUNCH}
    prefix_sum_kernel<<<blocks, threads>>>(x, y, n);
    cudaDeviceSynchronize();
}}
""",
    "transpose": """__global__ void transpose_kernel(const float *a, float *b, int rows, int cols) {
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows && j < cols) b[j * rows + i] = a[i * cols + j];
}

void transpose_gpu(const float *a, float *b, int rows, int cols) {
    dim3 threads(16, 16);
    dim3 blocks((cols + 15) / 16, (rows + 15) / 16);
    transpose_kernel<<<blocks, threads>>>(a, b, rows, cols);
    cudaDeviceSynchronize();
}
""",
    "histogram": """__global__ void histogram_kernel(const int *data, int n, int *bins, int nbins) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < nbins) {
        int count = 0;
        for (int i = 0; i < n; i++) if (data[i] == b) count++;
        bins[b] = count;
    }
}

void histogram_gpu(const int *data, int n, int *bins, int nbins) {
    histogram_kernel<<<(nbins + 255) / 256, 256>>>(data, n, bins, nbins);
    cudaDeviceSynchronize();
}
""",
}


def cuda_prototype(spec: KernelSpec) -> str:
    """``<name>_gpu`` with C linkage: the function a CUDA artifact must define."""
    return f'extern "C" {spec.prototype(spec.name + "_gpu")}'


def _adapter(spec: KernelSpec) -> str:
    """``<name>(host arrays)`` for the C driver: copy in, call ``<name>_gpu``, copy out."""
    lines = [
        "#include <cuda_runtime.h>",
        f"{cuda_prototype(spec)};",
        f'extern "C" {spec.prototype()} {{',
    ]
    for p in spec.params:
        if not p.is_array:
            continue
        n = f"(size_t)({p.length}) * sizeof({p.ctype})"
        lines.append(f"    {p.ctype} *d_{p.name}; cudaMalloc(&d_{p.name}, {n} ? {n} : 1);")
        if p.role in ("in", "inout"):
            lines.append(f"    cudaMemcpy(d_{p.name}, {p.name}, {n}, cudaMemcpyHostToDevice);")
    args = ", ".join(f"d_{p.name}" if p.is_array else p.name for p in spec.params)
    call = f"{spec.name}_gpu({args})"
    lines.append(f"    {'float ret = ' if spec.returns == 'float' else ''}{call};")
    for p in spec.params:
        if p.role in ("out", "inout"):
            n = f"(size_t)({p.length}) * sizeof({p.ctype})"
            lines.append(f"    cudaMemcpy({p.name}, d_{p.name}, {n}, cudaMemcpyDeviceToHost);")
    for p in spec.params:
        if p.is_array:
            lines.append(f"    cudaFree(d_{p.name});")
    if spec.returns == "float":
        lines.append("    return ret;")
    lines.append("}")
    return "\n".join(lines) + "\n"


@functools.cache
def nvcc_path() -> str | None:
    return shutil.which("nvcc")


def _toolkit_paths(nvcc: str) -> tuple[str, ...]:
    """The CUDA toolkit's root, bound read-only when it lies outside ``/usr``."""
    root = Path(nvcc).resolve().parent.parent
    return () if str(root).startswith("/usr/") else (str(root),)


@functools.cache
def gpu_available() -> bool:
    """Whether ``nvidia-smi`` lists a GPU on this machine."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20,
                                check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def run_cuda_kernel(code: str, spec: KernelSpec, *, reps: int = 11) -> KernelRun:
    """Compile ``code`` with nvcc (diagnostics as feedback); check and time it on a GPU if any."""
    nvcc = nvcc_path()
    total = len(spec.cases) + 1
    if nvcc is None:
        return KernelRun(spec.name, "no_gpu", 0, total,
                         notes=("not compiled: nvcc is not installed here",))
    files = {
        "kernel.cu": code,
        "kernel_cuda.h": cuda_prototype(spec) + ";\n",
        "adapter.cu": _adapter(spec),
        "ref.c": reference_source(spec),
        "driver.c": driver_source(spec, reps=reps),
    }
    with Sandbox(files, gpu=True, ro_paths=_toolkit_paths(nvcc)) as box:
        compiled = box.run(
            [nvcc, *NVCC_FLAGS, "-include", "kernel_cuda.h", "-c", "kernel.cu", "-o", "kernel.o"],
            limits=NVCC_LIMITS,
        )
        isolated = box.isolation == "namespaces"
        if not compiled.ok:
            return KernelRun(spec.name, "compile_error", 0, total,
                             compiler=command_diagnostics(compiled), isolated=isolated)
        warnings = compiled.stderr.strip()
        symbols = box.run(["nm", "--defined-only", "kernel.o"], limits=NVCC_LIMITS)
        wanted = f"{spec.name}_gpu"
        if not any(line.split()[-1:] == [wanted] for line in symbols.stdout.splitlines()):
            return KernelRun(
                spec.name, "link_error", 0, total, compiler=warnings, isolated=isolated,
                link=f"kernel.o does not define `{wanted}` with C linkage: keep the signature "
                f"exactly ({cuda_prototype(spec)}).",
            )
        if not gpu_available():
            return KernelRun(
                spec.name, "no_gpu", 0, total, compiler=warnings, isolated=isolated,
                notes=("nvcc compiled it; it was not run: no CUDA GPU on this machine "
                       "(nvidia-smi lists none), so correctness and speed are unknown.",),
            )
        steps = [
            ["gcc", *C_FLAGS, "-c", "driver.c", "-o", "driver.o"],
            ["gcc", *C_FLAGS, "-c", "ref.c", "-o", "ref.o"],
            [nvcc, *NVCC_FLAGS, "-c", "adapter.cu", "-o", "adapter.o"],
            [nvcc, "driver.o", "ref.o", "adapter.o", "kernel.o", "-o", "bench", "-lm"],
        ]
        for argv in steps:
            linked = box.run(argv, limits=NVCC_LIMITS)
            if not linked.ok:
                return KernelRun(spec.name, "link_error", 0, total, compiler=warnings,
                                 link=(linked.stderr + linked.stdout).strip(),
                                 isolated=isolated)
        cpu = pinned_cpu()
        ran = box.run(["./bench"], limits=RUN_LIMITS, pin_cpu=cpu)
    return parse_run(spec, ran, total=total, compiler=warnings, cpu=cpu)


def evaluate_cuda(code: str, task: Mapping[str, Any]) -> Feedback:
    """The evaluator of the CUDA batch (see :func:`run_cuda_kernel`)."""
    return kernel_feedback(run_cuda_kernel(code, get_kernel(str(task["id"]))))
