"""Sandbox start-up cost per run: what isolation adds to each evaluation of generated code.

Times, for the same trivial command, a bare subprocess and a bubblewrap
sandbox (namespaces, rlimits, pids cgroup where available), then the same for
Python (``run_python``, audit hook included) and for a compiled C binary run in
a :class:`Sandbox` that already holds it.  Prints medians and the overhead
per run; the goal is under 50 ms of overhead per run.

    python benchmarks/sandbox_startup.py            # 40 runs each
    python benchmarks/sandbox_startup.py --runs 10  # quicker
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from paretext.tasks import Sandbox, run_python, run_sandboxed

C_SOURCE = "int main(void) { return 0; }\n"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: the first call probes bubblewrap once per process
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs

    bare_true = median_ms(lambda: subprocess.run(["/bin/true"], check=True), runs)
    boxed_true = median_ms(lambda: run_sandboxed(["/bin/true"]), runs)
    bare_python = median_ms(
        lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), runs
    )
    boxed_python = median_ms(lambda: run_python("pass"), runs)
    with Sandbox(files={"k.c": C_SOURCE}) as box:
        built = box.run(["gcc", "-O2", "k.c", "-o", "k"])
        if not built.ok:
            raise SystemExit(f"gcc failed in the sandbox: {built.stderr}")
        boxed_binary = median_ms(lambda: box.run(["./k"]), runs)
        bare_binary = median_ms(lambda: subprocess.run([str(box.path / "k")], check=True), runs)

    print(f"sandbox start-up, median of {runs} runs (ms)")
    print(f"{'command':<22}{'bare':>8}{'sandboxed':>11}{'overhead':>10}")
    for name, bare, boxed in (
        ("/bin/true", bare_true, boxed_true),
        ("compiled C binary", bare_binary, boxed_binary),
        ("python (run_python)", bare_python, boxed_python),
    ):
        print(f"{name:<22}{bare:>8.1f}{boxed:>11.1f}{boxed - bare:>10.1f}")
    worst = max(boxed_true - bare_true, boxed_binary - bare_binary, boxed_python - bare_python)
    print(f"largest overhead per run: {worst:.1f} ms (goal < 50 ms)")


if __name__ == "__main__":
    main()
