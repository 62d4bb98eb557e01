"""The kernel batch: small numeric C kernels, each a naive reference that is also the seed.

A :class:`KernelSpec` says everything the harness needs to call a kernel on
random inputs and compare it with its reference: the signature as typed
parameters, which arrays are read and written and how long they are, the sizes
checked for correctness and the size timed, and the tolerance for floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ...errors import ConfigError

__all__ = ["KERNELS", "KernelSpec", "Param", "get_kernel"]

Role = Literal["in", "out", "inout", "size", "scalar"]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter.  ``length`` is a C expression over the size parameters (arrays only);
    ``fill`` is how inputs are drawn: ``float`` in [-1, 1), or ``mod:NAME`` integers in
    ``[0, NAME)``.
    """

    name: str
    ctype: Literal["float", "int"]
    role: Role
    length: str | None = None
    fill: str = "float"

    @property
    def is_array(self) -> bool:
        return self.role in ("in", "out", "inout")

    def declaration(self) -> str:
        if self.role == "in":
            return f"const {self.ctype} *{self.name}"
        if self.is_array:
            return f"{self.ctype} *{self.name}"
        return f"{self.ctype} {self.name}"


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """A kernel of the batch: what it computes, its signature, its naive reference.

    ``cases`` are the sizes checked for correctness (each maps size parameters to
    values); ``bench`` is the size timed, also checked.  Floats match when
    ``|got - want| <= atol + rtol * |want|``.
    """

    name: str
    summary: str
    returns: Literal["void", "float"]
    params: tuple[Param, ...]
    reference: str
    cases: tuple[Mapping[str, int], ...]
    bench: Mapping[str, int]
    rtol: float = 1e-4
    atol: float = 1e-5

    def __post_init__(self) -> None:
        sizes = {p.name for p in self.params if p.role == "size"}
        for case in (*self.cases, self.bench):
            if set(case) != sizes:
                raise ConfigError(f"kernel {self.name}: case {dict(case)} must set {sorted(sizes)}")
        object.__setattr__(self, "bench", MappingProxyType(dict(self.bench)))

    def prototype(self, name: str | None = None) -> str:
        args = ", ".join(p.declaration() for p in self.params)
        return f"{self.returns} {name or self.name}({args})"

    def description(self, compiler: str) -> str:
        """What the writing model is told about this kernel."""
        return (
            f"C kernel `{self.name}`: {self.summary}\n"
            f"Signature (keep it exactly): {self.prototype()};\n"
            f"Compiled with `{compiler}`; checked against a naive reference on random inputs, "
            "then timed against it."
        )


def _p(name: str, ctype: Literal["float", "int"], role: Role, length: str | None = None,
       fill: str = "float") -> Param:
    return Param(name, ctype, role, length, fill)


_DOT = """float dot(const float *x, const float *y, int n) {
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        sum += x[i] * y[i];
    }
    return sum;
}
"""

_SAXPY = """void saxpy(int n, float a, const float *x, float *y) {
    for (int i = 0; i < n; i++) {
        y[i] = a * x[i] + y[i];
    }
}
"""

_MATMUL = """void matmul(const float *a, const float *b, float *c, int n) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int k = 0; k < n; k++) {
                sum += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = sum;
        }
    }
}
"""

_CONV1D = """void conv1d(const float *x, int n, const float *w, int k, float *y) {
    for (int i = 0; i + k <= n; i++) {
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            sum += x[i + j] * w[j];
        }
        y[i] = sum;
    }
}
"""

_SOFTMAX = """#include <math.h>

void softmax(const float *x, float *y, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = expf(x[i] - max);
        sum += y[i];
    }
    for (int i = 0; i < n; i++) {
        y[i] = y[i] / sum;
    }
}
"""

_PREFIX = """void prefix_sum(const float *x, float *y, int n) {
    for (int i = 0; i < n; i++) {
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) {
            sum += x[j];
        }
        y[i] = sum;
    }
}
"""

_TRANSPOSE = """void transpose(const float *a, float *b, int rows, int cols) {
    for (int j = 0; j < cols; j++) {
        for (int i = 0; i < rows; i++) {
            b[j * rows + i] = a[i * cols + j];
        }
    }
}
"""

_HISTOGRAM = """void histogram(const int *data, int n, int *bins, int nbins) {
    for (int b = 0; b < nbins; b++) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (data[i] == b) count++;
        }
        bins[b] = count;
    }
}
"""

KERNELS: tuple[KernelSpec, ...] = (
    KernelSpec(
        "dot", "returns the dot product sum(x[i] * y[i]) of two float vectors of length n.",
        "float", (_p("x", "float", "in", "n"), _p("y", "float", "in", "n"), _p("n", "int", "size")),
        _DOT, ({"n": 1}, {"n": 3}, {"n": 17}, {"n": 1000}), {"n": 1 << 16},
        rtol=1e-3, atol=1e-3,
    ),
    KernelSpec(
        "saxpy", "computes y[i] = a * x[i] + y[i] in place for i < n.",
        "void",
        (_p("n", "int", "size"), _p("a", "float", "scalar"), _p("x", "float", "in", "n"),
         _p("y", "float", "inout", "n")),
        _SAXPY, ({"n": 1}, {"n": 5}, {"n": 33}, {"n": 1000}), {"n": 1 << 16},
    ),
    KernelSpec(
        "matmul", "multiplies two n x n row-major float matrices: c = a * b.",
        "void",
        (_p("a", "float", "in", "n * n"), _p("b", "float", "in", "n * n"),
         _p("c", "float", "out", "n * n"), _p("n", "int", "size")),
        _MATMUL, ({"n": 1}, {"n": 5}, {"n": 16}, {"n": 33}), {"n": 128},
        rtol=1e-3, atol=1e-4,
    ),
    KernelSpec(
        "conv1d", "valid 1-D convolution (correlation): y[i] = sum_j x[i + j] * w[j] for "
        "i <= n - k, j < k.",
        "void",
        (_p("x", "float", "in", "n"), _p("n", "int", "size"), _p("w", "float", "in", "k"),
         _p("k", "int", "size"), _p("y", "float", "out", "n - k + 1")),
        _CONV1D,
        ({"n": 5, "k": 1}, {"n": 10, "k": 3}, {"n": 100, "k": 7}, {"n": 1000, "k": 16}),
        {"n": 1 << 15, "k": 16}, rtol=1e-3, atol=1e-4,
    ),
    KernelSpec(
        "softmax", "numerically stable softmax of a float vector: y[i] = exp(x[i] - max) / "
        "sum_j exp(x[j] - max).",
        "void", (_p("x", "float", "in", "n"), _p("y", "float", "out", "n"), _p("n", "int", "size")),
        _SOFTMAX, ({"n": 1}, {"n": 4}, {"n": 100}, {"n": 1000}), {"n": 1 << 15},
        rtol=1e-3, atol=1e-6,
    ),
    KernelSpec(
        "prefix_sum", "inclusive prefix sum: y[i] = x[0] + ... + x[i].",
        "void", (_p("x", "float", "in", "n"), _p("y", "float", "out", "n"), _p("n", "int", "size")),
        _PREFIX, ({"n": 1}, {"n": 4}, {"n": 100}, {"n": 1000}), {"n": 4096},
        rtol=1e-3, atol=1e-3,
    ),
    KernelSpec(
        "transpose", "transposes a rows x cols row-major float matrix a into b (cols x rows).",
        "void",
        (_p("a", "float", "in", "rows * cols"), _p("b", "float", "out", "rows * cols"),
         _p("rows", "int", "size"), _p("cols", "int", "size")),
        _TRANSPOSE,
        ({"rows": 1, "cols": 1}, {"rows": 3, "cols": 5}, {"rows": 17, "cols": 33},
         {"rows": 64, "cols": 64}),
        {"rows": 1024, "cols": 1024}, rtol=0.0, atol=0.0,
    ),
    KernelSpec(
        "histogram", "counts how often each value b in [0, nbins) occurs in data[0..n): "
        "bins[b] = count (the kernel sets every bin).",
        "void",
        (_p("data", "int", "in", "n", fill="mod:nbins"), _p("n", "int", "size"),
         _p("bins", "int", "out", "nbins"), _p("nbins", "int", "size")),
        _HISTOGRAM,
        ({"n": 1, "nbins": 1}, {"n": 10, "nbins": 3}, {"n": 1000, "nbins": 16},
         {"n": 5000, "nbins": 64}),
        {"n": 1 << 14, "nbins": 64}, rtol=0.0, atol=0.0,
    ),
)

_BY_NAME = {k.name: k for k in KERNELS}


def get_kernel(name: str) -> KernelSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown kernel {name!r}; choose from {', '.join(_BY_NAME)}") from None
