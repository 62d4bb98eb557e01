"""Every code block of README.md runs, so a wrong example fails CI (issue 17.3).

Substitutions, as the README's Development section documents them:

* Python blocks run as written, in order, in one namespace, in a scratch directory;
  OpenAI-compatible model strings reach a local fake server (``OPENAI_BASE_URL``)
  whose replies follow the prompt: reflection gets a new instruction, the task
  model answers sums (bare when told "number only").
* ``bash`` lines run through the real CLI, with ``local`` models swapped for that
  server and ``task.py`` being ``docs/example_task.py``; ``make`` lines are checked
  with ``make -n``; ``paretext bench`` and ``paretext models install`` are parsed by
  the CLI (flags and values validated), not run, as they need the bundled model.
* ``text`` blocks (formulas, diagrams) are not code; any other block fails here.
* Blocks under a heading in :data:`ELSEWHERE` run in the test named there, against the
  real thing they need (a running service); this test checks that test reads them.
* The *Coming from DSPy* block runs with real DSPy, in a namespace of its own: ``program``,
  ``metric``, ``train`` and ``val`` are the two-module rule world of ``tests/dspy/dspy_world.py``,
  and ``dspy.LM(...)`` (and the configured task LM) reach fake servers speaking DSPy's format.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lm"))
from fake_server import FakeOpenAIServer  # noqa: E402

from paretext.cli import app  # noqa: E402

FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)
SUM = re.compile(r"What is (\d+) \+ (\d+)\?")
PARSE_ONLY = (("bench",), ("models", "install"), ("optimize-artifact", "compare"))
#: ``export NAME=VALUE ...``: the form is checked, the values are not applied (the test's own
#: environment points every OpenAI-compatible model at the fake server).
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
#: Sections whose blocks another test runs for real: heading -> that test's file.
ELSEWHERE = {"## Personalization loop": "tests/service/test_service_readme.py"}


def blocks() -> list[tuple[int, str, str]]:
    """(line, language, code) of each fenced block outside the :data:`ELSEWHERE` sections."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    skipped = []
    for heading, test in ELSEWHERE.items():
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        skipped.append((start, len(text) if end < 0 else end))
        assert heading in (ROOT / test).read_text(encoding="utf-8"), test
    return [
        (text[: m.start()].count("\n") + 1, m.group(2), textwrap.dedent(m.group(3)))
        for m in FENCE.finditer(text)
        if not any(a <= m.start() < b for a, b in skipped)
    ]


def run_dspy_block(code: str, line: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DSPy block, as written, on the DSPy rule world (see the module docstring)."""
    dspy = pytest.importorskip("dspy")
    sys.path.insert(0, str(ROOT / "tests" / "dspy"))
    from dspy_world import TwoStep, examples, metric, reflection_responder, task_responder

    with (
        FakeOpenAIServer(responder=task_responder()) as task,
        FakeOpenAIServer(responder=reflection_responder()) as reflection,
    ):
        real_lm = dspy.LM
        options = {"api_key": "sk-readme", "cache": False, "num_retries": 0}
        monkeypatch.setattr(
            dspy, "LM", lambda model, **kw: real_lm(model, api_base=reflection.base_url,
                                                    **{**options, **kw})
        )
        task_lm = real_lm("openai/task-model", api_base=task.base_url, **options)
        namespace = {"dspy": dspy, "program": TwoStep(), "metric": metric,
                     "train": examples(0, 8), "val": examples(8, 16)}
        with dspy.context(lm=task_lm):
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        assert reflection.total_requests > 0 and task.total_requests > 0
    assert namespace["optimized"] is not None


def respond(body: dict[str, Any]) -> str:
    messages = body["messages"]
    prompt = messages[-1]["content"]
    if "Feedback:" in prompt or "Version A" in prompt:  # reflection or merge
        return "```\nAnswer with the number only.\n```"
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    found = SUM.search(prompt)
    total = str(int(found.group(1)) + int(found.group(2))) if found else "42"
    return total if "number only" in system else f"The answer is {total}."


def shell_lines(code: str) -> Iterator[list[str]]:
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            yield words


def run_line(words: list[str], runner: CliRunner) -> None:
    if words[0] == "export":
        assert words[1:] and all(ASSIGNMENT.match(w) for w in words[1:]), words
        return
    if words[0] == "make":
        done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return
    assert words[0] == "paretext", f"a README shell line not paretext, make or export: {words}"
    args = [re.sub(r"^local(/\S+)?$", "openai/gpt-4.1-mini", w) for w in words[1:]]
    if any(tuple(args[: len(p)]) == p for p in PARSE_ONLY):
        command, rest = typer.main.get_command(app), list(args)
        while isinstance(command, click.Group):  # down to the subcommand, then parse its flags
            found = command.get_command(click.Context(command), rest.pop(0))
            assert found is not None, words
            command = found
        command.make_context(" ".join(words[:2]), rest)
        return
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{' '.join(words)}\n{result.output}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy's, inside MLflow
# litellm (inside the DSPy block's dspy.LM) opens an OpenAI client per call and leaves its
# sockets to the garbage collector, which may close them during any later block.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_every_readme_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = blocks()
    assert {lang for _, lang, _ in found} <= {"python", "bash", "text"}, found
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "docs" / "example_task.py", tmp_path / "task.py")
    for committed in ("benchmarks", "docs"):  # blocks read committed results by relative path
        (tmp_path / committed).symlink_to(ROOT / committed)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    runner = CliRunner()
    with FakeOpenAIServer(responder=respond) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for line, lang, code in found:
            if lang == "python" and "from paretext.dspy import GEPA" in code:
                run_dspy_block(code, line, monkeypatch)
            elif lang == "python":
                exec(compile(code, f"README.md:{line}", "exec"), namespace)
            elif lang == "bash":
                for words in shell_lines(code):
                    run_line(words, runner)
        assert server.total_requests > 0
    # The quickstart learned "number only", and pt.apply used that prompt on a new input.
    assert namespace["answers"] == ["14"]
