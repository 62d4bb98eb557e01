"""Issue 17.10: a program stays usable on new event loops after the sync facade returns."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    sys.path.insert(0, {here!r})
    from fake_server import FakeOpenAIServer
    import paretext as pt
    from paretext.testing import RuleWorld, rule_reflector

    with FakeOpenAIServer() as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["OPENAI_API_KEY"] = "sk-test"
        program = pt.ChatProgram("openai/fake", component="system", template="{{question}}")
        data = RuleWorld(n=40, categories=4).examples()  # enough calls to pool connections
        metric = lambda example, output: float("q" in output)
        result = pt.optimize({{"system": "Solve it."}}, program, metric, data[:20], data[20:],
                             reflection_lm=rule_reflector(1), budget=100)
        for _ in range(2):  # two more loops after optimize's own
            out = asyncio.run(program.run(result.best.components, data[0]))
            print("output:", out.output)
        print("applied:", pt.apply(program, result, data[:2]))
    import gc
    gc.collect()  # a client dropped with its loop would complain here
    """
)


def test_program_runs_on_later_loops_without_event_loop_closed(tmp_path: Path) -> None:
    script = tmp_path / "after.py"
    script.write_text(SCRIPT.format(here=str(Path(__file__).parent)), encoding="utf-8")
    env = {**os.environ, "PYTHONWARNINGS": "default", "PYTHONDEVMODE": "0"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("output: echo: q0") == 2
    assert "applied: ['echo: q0', 'echo: q1']" in proc.stdout
    for noise in ("Event loop is closed", "Task exception was never retrieved", "Traceback"):
        assert noise not in proc.stderr, proc.stderr
