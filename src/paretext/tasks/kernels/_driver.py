"""The C test-and-time driver generated for one kernel: pure string building, no I/O.

The driver calls the candidate and the reference on the same random inputs
(a fixed xorshift seed, so every evaluation sees the same data), compares every
output, checks that inputs were left untouched, then times both, alternating,
and prints what happened as JSON lines on stdout:

``{"event": "case", ...}`` before each call (a crash is then located),
``{"event": "mismatch", ...}`` for the first wrong values, ``{"event": "input_modified"}``,
``{"event": "timing", ...}`` with the medians of the repeated runs.  The speed-up is
the median of the per-run ratios: each run times the reference and the candidate
back to back (in alternating order), so a slow moment on a shared machine hits
both sides of a ratio rather than one median.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._specs import KernelSpec, Param

__all__ = ["driver_source", "reference_source"]

_PRELUDE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;
static unsigned long long next_u64(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static float rnd_float(void) { return (float)((next_u64() >> 40) / 16777216.0) * 2.0f - 1.0f; }
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9;
}
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y);
}
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp_double); return v[n / 2]; }
static double quantile(double *v, int n, double q) {
    qsort(v, n, sizeof *v, cmp_double); return v[(int)(q * (n - 1) + 0.5)];
}
static int mismatches_shown = 0;
static long check_float(int cs, const char *what, const float *got, const float *want, long len,
                        double rtol, double atol) {
    long bad = 0;
    for (long i = 0; i < len; i++) {
        double g = got[i], w = want[i];
        if (!(fabs(g - w) <= atol + rtol * fabs(w))) {
            if (bad == 0 && mismatches_shown < 3) {
                printf("{\"event\":\"mismatch\",\"case\":%d,\"what\":\"%s\",\"index\":%ld,"
                       "\"got\":\"%.7g\",\"want\":\"%.7g\"}\n", cs, what, i, g, w);
                mismatches_shown++;
            }
            bad++;
        }
    }
    if (bad) printf("{\"event\":\"wrong\",\"case\":%d,\"what\":\"%s\",\"count\":%ld,\"of\":%ld}\n",
                    cs, what, bad, len);
    return bad;
}
static long check_int(int cs, const char *what, const int *got, const int *want, long len,
                      double rtol, double atol) {
    (void)rtol; (void)atol;
    long bad = 0;
    for (long i = 0; i < len; i++) {
        if (got[i] != want[i]) {
            if (bad == 0 && mismatches_shown < 3) {
                printf("{\"event\":\"mismatch\",\"case\":%d,\"what\":\"%s\",\"index\":%ld,"
                       "\"got\":\"%d\",\"want\":\"%d\"}\n", cs, what, i, got[i], want[i]);
                mismatches_shown++;
            }
            bad++;
        }
    }
    if (bad) printf("{\"event\":\"wrong\",\"case\":%d,\"what\":\"%s\",\"count\":%ld,\"of\":%ld}\n",
                    cs, what, bad, len);
    return bad;
}
static volatile double sink;
"""


def _fill(p: Param) -> str:
    if p.fill.startswith("mod:"):
        return f"(int)(next_u64() % (unsigned long long)({p.fill[4:]}))"
    return "rnd_float()" if p.ctype == "float" else "(int)(next_u64() % 1000)"


def _case_function(spec: KernelSpec) -> str:
    sizes = [p for p in spec.params if p.role == "size"]
    arrays = [p for p in spec.params if p.is_array]
    size_args = ", ".join(f"int {p.name}" for p in sizes)
    lines = [f"static long run_case(int cs, {size_args}, int timed) {{"]
    lines.append("    long bad = 0;")
    size_json = ",".join(f'\\"{p.name}\\":%d' for p in sizes)
    lines.append(
        f'    printf("{{\\"event\\":\\"case\\",\\"case\\":%d,\\"sizes\\":{{{size_json}}}}}\\n", '
        f"cs, {', '.join(p.name for p in sizes)});"
    )
    lines.append("    fflush(stdout);")
    for p in spec.params:
        if p.role == "scalar":
            lines.append(f"    {p.ctype} {p.name} = {_fill(p)};")
    for p in arrays:
        n = f"len_{p.name}"
        lines.append(f"    long {n} = (long)({p.length}); if ({n} < 1) {n} = 1;")
        for copy in ("ref", "cand", "orig"):
            lines.append(f"    {p.ctype} *{p.name}_{copy} = malloc({n} * sizeof({p.ctype}));")
        if p.role in ("in", "inout"):
            lines.append(f"    for (long i = 0; i < {n}; i++) {p.name}_orig[i] = {_fill(p)};")
        else:
            fill = "NAN" if p.ctype == "float" else "-123456789"
            lines.append(f"    for (long i = 0; i < {n}; i++) {p.name}_orig[i] = {fill};")
        lines.append(f"    memcpy({p.name}_ref, {p.name}_orig, {n} * sizeof({p.ctype}));")
        lines.append(f"    memcpy({p.name}_cand, {p.name}_orig, {n} * sizeof({p.ctype}));")

    def call(fn: str, copy: str) -> str:
        args = ", ".join(f"{p.name}_{copy}" if p.is_array else p.name for p in spec.params)
        return f"{fn}({args})"

    if spec.returns == "float":
        lines.append(f"    float ret_ref = {call('ref_' + spec.name, 'ref')};")
        lines.append(f"    float ret_cand = {call(spec.name, 'cand')};")
        lines.append(
            f"    bad += check_float(cs, \"return value\", &ret_cand, &ret_ref, 1, {spec.rtol!r}, "
            f"{spec.atol!r});"
        )
    else:
        lines.append(f"    {call('ref_' + spec.name, 'ref')};")
        lines.append(f"    {call(spec.name, 'cand')};")
    for p in arrays:
        check = "check_float" if p.ctype == "float" else "check_int"
        n = f"len_{p.name}"
        if p.role == "in":
            lines.append(
                f"    if (memcmp({p.name}_cand, {p.name}_orig, {n} * sizeof({p.ctype}))) {{ "
                f'printf("{{\\"event\\":\\"input_modified\\",\\"case\\":%d,'
                f'\\"what\\":\\"{p.name}\\"}}\\n", cs); bad++; }}'
            )
        else:
            lines.append(
                f'    bad += {check}(cs, "{p.name}", {p.name}_cand, {p.name}_ref, {n}, '
                f"{spec.rtol!r}, {spec.atol!r});"
            )
    lines.append("    if (timed && bad == 0) {")
    lines.append(_timing(spec, call))
    lines.append("    }")
    for p in arrays:
        for copy in ("ref", "cand", "orig"):
            lines.append(f"    free({p.name}_{copy});")
    lines.append("    return bad;")
    lines.append("}")
    return "\n".join(lines)


def _timing(spec: KernelSpec, call: object) -> str:
    assert callable(call)
    ref_call = call("ref_" + spec.name, "ref")
    cand_call = call(spec.name, "cand")
    keep = "sink += " if spec.returns == "float" else ""
    return f"""
        const int reps = REPS;
        long inner = 1;
        for (;;) {{
            double t0 = now();
            for (long r = 0; r < inner; r++) {{ {keep}{ref_call}; }}
            if (now() - t0 >= MIN_SECONDS || inner >= (1L << 24)) break;
            inner *= 2;
        }}
        double t_ref[REPS], t_cand[REPS], ratio[REPS];
        int done = 0;
        for (int r = 0; r < reps; r++) {{
            double a, b;
            if (r % 2 == 0) {{
                a = now(); for (long i = 0; i < inner; i++) {{ {keep}{ref_call}; }} b = now();
                t_ref[r] = (b - a) / inner;
                a = now(); for (long i = 0; i < inner; i++) {{ {keep}{cand_call}; }} b = now();
                t_cand[r] = (b - a) / inner;
            }} else {{
                a = now(); for (long i = 0; i < inner; i++) {{ {keep}{cand_call}; }} b = now();
                t_cand[r] = (b - a) / inner;
                a = now(); for (long i = 0; i < inner; i++) {{ {keep}{ref_call}; }} b = now();
                t_ref[r] = (b - a) / inner;
            }}
            ratio[r] = t_ref[r] / (t_cand[r] > 0 ? t_cand[r] : 1e-12);
            done = r + 1;
            if (t_cand[r] * inner > MAX_SECONDS_PER_RUN) break;
        }}
        double q1 = quantile(ratio, done, 0.25), q3 = quantile(ratio, done, 0.75);
        double med_ratio = median(ratio, done);
        double med_ref = median(t_ref, done), med_cand = median(t_cand, done);
        printf("{{\\"event\\":\\"timing\\",\\"ref_s\\":%.9g,\\"cand_s\\":%.9g,\\"speedup\\":%.6g,"
               "\\"ratio_q1\\":%.6g,\\"ratio_q3\\":%.6g,\\"reps\\":%d,\\"inner\\":%ld}}\\n",
               med_ref, med_cand, med_ratio, q1, q3, done, inner);"""


def reference_source(spec: KernelSpec) -> str:
    """The naive reference, renamed ``ref_<name>`` so it links beside the candidate."""
    return f"#define {spec.name} ref_{spec.name}\n{spec.reference}"


def driver_source(spec: KernelSpec, *, reps: int = 11, min_seconds: float = 0.002,
                  max_seconds_per_run: float = 0.25) -> str:
    """The ``main`` that checks every case, then times the bench case."""
    sizes = [p for p in spec.params if p.role == "size"]
    cases: list[Mapping[str, int]] = [*spec.cases, spec.bench]
    body = [
        f"#define REPS {reps}",
        f"#define MIN_SECONDS {min_seconds!r}",
        f"#define MAX_SECONDS_PER_RUN {max_seconds_per_run!r}",
        _PRELUDE,
        spec.prototype() + ";",
        spec.prototype("ref_" + spec.name) + ";",
        _case_function(spec),
        "int main(void) {",
        "    long bad = 0;",
    ]
    for i, case in enumerate(cases):
        args = ", ".join(str(case[p.name]) for p in sizes)
        timed = 1 if i == len(cases) - 1 else 0
        body.append(f"    bad += run_case({i}, {args}, {timed});")
    done = f'{{\\"event\\":\\"done\\",\\"bad\\":%ld,\\"cases\\":{len(cases)}}}\\n'
    body.append(f'    printf("{done}", bad);')
    body.append("    return 0;")
    body.append("}")
    return "\n".join(body) + "\n"
