"""``paretext optimize-artifact``: the kernel case study through the CLI, against a real local
OpenAI-compatible server (the writer) and the real gcc."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paretext.cli import app
from paretext.lm import register_price

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lm"))
from fake_server import FakeOpenAIServer

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

FASTER = {
    "prefix_sum": "void prefix_sum(const float *x, float *y, int n) {\n"
    "    float s = 0.0f;\n    for (int i = 0; i < n; i++) { s += x[i]; y[i] = s; }\n}\n",
    "histogram": "void histogram(const int *data, int n, int *bins, int nbins) {\n"
    "    for (int b = 0; b < nbins; b++) bins[b] = 0;\n"
    "    for (int i = 0; i < n; i++) bins[data[i]]++;\n}\n",
}


def writer(body: dict[str, Any]) -> str:
    prompt = body["messages"][1]["content"]
    name = re.search(r"C kernel `(\w+)`", prompt)
    return "```c\n" + FASTER[name.group(1) if name else "prefix_sum"] + "```"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    register_price("fake-writer", 0, 0)  # a loopback server is free only when said so
    with FakeOpenAIServer(responder=writer) as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield running


def test_kernels_runs_the_batch_with_progress_and_reports(server: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "optimize-artifact", "kernels", "-k", "prefix_sum,histogram", "-n", "2",
        "--reflection-lm", "openai/fake-writer", "--run", str(tmp_path / "runs"),
    ])
    assert result.exit_code == 0, result.output
    assert "prefix_sum" in result.output and "histogram" in result.output
    assert "2 proposals" in result.output
    assert server.requests, "the writer was never asked"
    report = tmp_path / "runs" / "paretext-s0" / "report.html"
    assert report.is_file()
    assert "Cross-task transfer" in report.read_text(encoding="utf-8")


def test_compare_writes_json_and_table(server: Any, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = CliRunner().invoke(app, [
        "optimize-artifact", "compare", "-k", "prefix_sum", "-n", "1", "--seeds", "0",
        "--methods", "seed,self_refine", "--reflection-lm", "openai/fake-writer",
        "--out", str(out), "-q",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "kernels.json").read_text(encoding="utf-8"))
    assert [r["method"] for r in data["runs"]] == ["seed", "self_refine"]
    refined = data["runs"][1]
    assert refined["kernels"]["prefix_sum"]["correct"] is True
    assert refined["codes"]["prefix_sum"] == FASTER["prefix_sum"].strip()
    table = (out / "kernels.md").read_text(encoding="utf-8")
    assert "| seed |" in table and "| self_refine |" in table


def test_unknown_kernel_or_method_is_a_usage_error() -> None:
    runner = CliRunner()
    bad_kernel = runner.invoke(app, ["optimize-artifact", "kernels", "-k", "fft", "-q"])
    assert bad_kernel.exit_code == 2 and "unknown kernel 'fft'" in bad_kernel.output
    bad_method = runner.invoke(app, ["optimize-artifact", "compare", "--methods", "magic"])
    assert bad_method.exit_code == 2 and "unknown method" in bad_method.output


def test_run_optimizes_the_artifact_a_file_defines(server: Any, tmp_path: Path) -> None:
    task = tmp_path / "mine.py"
    task.write_text(
        "from paretext.tasks.kernels import evaluate_c, kernel_seeds, kernel_tasks\n"
        "seed = kernel_seeds(['prefix_sum'])\n"
        "tasks = kernel_tasks(['prefix_sum'])\n"
        "evaluate = evaluate_c\n"
        "kind, lang = 'C kernels', 'c'\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, [
        "optimize-artifact", "run", str(task), "--reflection-lm", "openai/fake-writer",
        "-n", "1", "--budget", "20", "--run", str(tmp_path / "run"), "-q",
    ])
    assert result.exit_code == 0, result.output
    assert "== prefix_sum: score" in result.output
    assert "s += x[i]; y[i] = s;" in result.output
    assert (tmp_path / "run" / "report.html").is_file()
    missing = tmp_path / "bad.py"
    missing.write_text("seed = 'x'\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["optimize-artifact", "run", str(missing)])
    assert bad.exit_code == 2 and "must define evaluate" in bad.output
