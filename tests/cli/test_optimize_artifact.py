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
