"""A paretext.dspy.GEPA run killed with SIGKILL and compiled again with its log_dir.

It ends where an uninterrupted run ends, and pays again for no rollout or
reflection call the run store had recorded.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_server import FakeOpenAIServer

from paretext.store import SQLiteRunStore

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("resume_worker.py")


def question(example_id: str) -> str:
    split, i = example_id.split("-")
    return f"q{int(i) + (12 if split == 'val' else 0)}"


def launch(servers: tuple[FakeOpenAIServer, FakeOpenAIServer], d: Path) -> subprocess.Popen[bytes]:
    task, reflection = servers
    args = [task.base_url, reflection.base_url, str(d / "run"), str(d / "log"), str(d / "out.json")]
    return subprocess.Popen([sys.executable, str(WORKER), *args])


def lines(d: Path) -> list[str]:
    log = d / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_kill_9_then_compile_again_resumes_exactly(tmp_path: Path) -> None:
    from dspy_world import reflection_responder, task_responder

    # Slow enough to be killed mid-run: 30 ms per task call, 60 ms per reflection.
    with (
        FakeOpenAIServer(responder=task_responder(), latency=0.03) as task,
        FakeOpenAIServer(responder=reflection_responder(), latency=0.06) as reflection,
    ):
        servers = (task, reflection)
        ref = tmp_path / "reference"
        ref.mkdir()
        assert launch(servers, ref).wait(timeout=120) == 0
        expected = json.loads((ref / "out.json").read_text())

        d = tmp_path / "killed"
        d.mkdir()
        proc = launch(servers, d)
        deadline = time.monotonic() + 60
        while len(lines(d)) < 60 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed; lengthen it"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = SQLiteRunStore(d / "run", create=False)
        recorded = {
            f"rollout {r.candidate_hash} {question(r.example_id)}" for r in store.rollouts()
        }
        recorded |= {f"lm {c.key}" for c in store.lm_calls()}
        store.close()
        assert any(r.startswith("rollout") for r in recorded)
        before = len(lines(d))

        assert launch(servers, d).wait(timeout=120) == 0
        repaid = set(lines(d)[before:]) & recorded
        assert not repaid, f"paid again for recorded work: {sorted(repaid)[:3]}"
        assert json.loads((d / "out.json").read_text()) == expected
