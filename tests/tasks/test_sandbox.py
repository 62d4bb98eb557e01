"""The sandbox contains what generated code gets wrong, reports it, and leaves the parent alone."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from paretext.tasks import SandboxLimits, run_python

FAST = SandboxLimits(wall_seconds=3.0, cpu_seconds=1, memory_bytes=256 * 2**20)
SECRET = "PARETEXT_TEST_SECRET_TOKEN"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET, "s3cr3t-value")
    return "s3cr3t-value"


def test_normal_run_output_and_files() -> None:
    result = run_python(
        "print(open('data.txt').read().upper())\nopen('out.txt', 'w').write('written')",
        files={"data.txt": "hello"},
        collect=["out.txt", "absent.txt"],
        limits=FAST,
    )
    assert result.ok and result.status == "ok" and result.returncode == 0
    assert result.stdout.strip() == "HELLO"
    assert dict(result.files) == {"out.txt": "written"}
    assert result.describe() == "The code ran to completion."


def test_infinite_loop_is_stopped() -> None:
    started = time.monotonic()
    result = run_python("while True:\n    pass", limits=FAST)
    assert result.status in ("timeout", "cpu_limit")
    assert time.monotonic() - started < FAST.wall_seconds + 2
    assert "killed" in result.describe()


def test_sleeping_code_hits_the_wall_clock_limit() -> None:
    result = run_python("import time\ntime.sleep(60)", limits=SandboxLimits(wall_seconds=1.0))
    assert result.status == "timeout" and result.returncode is None


def test_memory_bomb_is_contained() -> None:
    result = run_python("x = bytearray(10**11)", limits=FAST)
    assert result.status == "memory_limit"
    assert "MemoryError" in result.stderr and "256 MiB" in result.describe()
    grow = run_python("chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))", limits=FAST)
    assert grow.status == "memory_limit"


def test_shell_and_subprocess_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = run_python(f"import os\nos.system('touch {marker}')", limits=FAST)
    assert result.status == "blocked"
    assert "running a shell command (os.system)" in result.violations
    assert "PermissionError" in result.stderr
    assert "running a shell command" in result.describe()
    sub = run_python(f"import subprocess\nsubprocess.run(['touch', '{marker}'])", limits=FAST)
    assert sub.status == "blocked" and any("subprocess" in v for v in sub.violations)
    fork = run_python("import os\nos.fork()", limits=FAST)
    assert fork.status == "blocked"
    assert not marker.exists()


def test_parent_secret_is_not_visible(secret_env: str) -> None:
    result = run_python(
        f"import os\nprint(os.environ.get('{SECRET}'))\nprint(sorted(os.environ))", limits=FAST
    )
    assert result.ok
    assert secret_env not in result.stdout and SECRET not in result.stdout
    assert result.stdout.splitlines()[0] == "None"
    via_proc = run_python(
        "import os\nprint(open(f'/proc/{os.getppid()}/environ', 'rb').read())", limits=FAST
    )
    assert via_proc.status == "blocked" and secret_env not in via_proc.stdout
    assert os.environ[SECRET] == secret_env  # the parent keeps its own


def test_writes_outside_the_work_dir_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    result = run_python(f"open('{target}', 'w').write('x')", limits=FAST)
    assert result.status == "blocked" and not target.exists()
    removal = tmp_path / "keep.txt"
    removal.write_text("keep")
    result = run_python(f"import os\nos.remove('{removal}')", limits=FAST)
    assert result.status == "blocked" and removal.exists()


def test_signals_and_network_are_refused() -> None:
    kill = run_python("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)", limits=FAST)
    assert kill.status == "blocked"
    net = run_python("import socket\nsocket.socket().connect(('127.0.0.1', 9))", limits=FAST)
    assert net.status == "blocked" and "network" in net.describe()


def test_output_flood_is_capped() -> None:
    limits = SandboxLimits(wall_seconds=5.0, file_bytes=2**20, output_chars=1000)
    result = run_python("while True:\n    print('x' * 1000)", limits=limits)
    assert result.status == "output_limit"
    assert len(result.stdout) <= 2 * limits.output_chars + 100


def test_errors_and_exit_codes_are_reported() -> None:
    error = run_python("def f():\n    raise ValueError('bad input')\nf()", limits=FAST)
    assert error.status == "error" and error.returncode == 1
    assert 'File "main.py", line 2, in f' in error.stderr
    assert "<sandbox>" not in error.stderr  # the sandbox's own frames are hidden
    syntax = run_python("def f(:\n    pass", limits=FAST)
    assert syntax.status == "error" and "SyntaxError" in syntax.stderr
    assert run_python("import sys\nsys.exit(3)", limits=FAST).returncode == 3


def test_parent_is_unaffected() -> None:
    cwd, env = os.getcwd(), dict(os.environ)
    for source in ("import os\nos.chdir('/')", "import os\nos.environ['X'] = '1'", "while 1: pass"):
        run_python(source, limits=SandboxLimits(wall_seconds=1.0, cpu_seconds=1))
    assert os.getcwd() == cwd and dict(os.environ) == env
    assert run_python("print(2 + 2)", limits=FAST).stdout.strip() == "4"


def test_bad_file_names_are_refused() -> None:
    with pytest.raises(ValueError, match="plain names"):
        run_python("pass", files={"../escape.py": "x"})


def test_run_sandboxed_returns_output_exit_and_timing() -> None:
    from paretext.tasks import run_sandboxed

    result = run_sandboxed(
        ["sh", "-c", "read x; echo \"$x $GREETING\" > out.txt; cat in.txt; exit 4"],
        files={"in.txt": "from a file"},
        env={"GREETING": "hello"},
        stdin="from stdin\n",
        collect=["out.txt"],
        limits=FAST,
    )
    assert result.status == "error" and result.returncode == 4
    assert result.stdout == "from a file"
    assert dict(result.files) == {"out.txt": "from stdin hello\n"}
    assert result.seconds > 0 and result.cpu_seconds >= 0 and result.isolation == "namespaces"


def test_a_session_compiles_then_runs_with_gcc() -> None:
    from paretext.tasks import Sandbox

    source = '#include <stdio.h>\nint main(void) { puts("built"); return 0; }\n'
    with Sandbox(files={"main.c": source}) as box:
        assert box.run(["gcc", "main.c", "-o", "main"], limits=FAST).ok
        assert box.read_bytes("main") is not None
        ran = box.run(["./main"], limits=FAST)
    assert ran.ok and ran.stdout == "built\n"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no CUDA toolkit (nvcc) here")
def test_nvcc_compiles_in_the_sandbox() -> None:
    from paretext.tasks import Sandbox

    source = "__global__ void twice(float *x) { x[threadIdx.x] *= 2; }\nint main() { return 0; }\n"
    limits = SandboxLimits(wall_seconds=240, cpu_seconds=200, memory_bytes=None, processes=256)
    with Sandbox(files={"k.cu": source}) as box:
        built = box.run(["nvcc", "-O2", "k.cu", "-o", "k"], limits=limits)
    assert built.ok, built.stderr
