"""Without the extra: paretext imports, and asking for Ray names what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ray_programs import write_task

NO_RAY = "import sys; sys.modules['ray'] = None  # as if Ray were not installed\n"


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_importing_paretext_and_paretext_ray_does_not_import_ray() -> None:
    done = python("import sys, paretext, paretext.ray; assert 'ray' not in sys.modules, 'ray'")
    assert done.returncode == 0, done.stderr


def test_a_missing_extra_is_named() -> None:
    done = python(
        NO_RAY + "from paretext.ray import RayExecutor\n"
        "try:\n"
        "    RayExecutor()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    assert done.stdout.strip() == (
        "ConfigError RayExecutor needs Ray: pip install 'paretext[ray]'"
    ), done.stderr


def test_the_cli_names_the_missing_extra(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    done = python(
        NO_RAY + "from paretext.cli import main\n"
        f"sys.argv = ['paretext', 'optimize', {str(task)!r}, '--ray']\n"
        "main()\n"
    )
    assert done.returncode == 2
    assert "pip install 'paretext[ray]'" in done.stderr
