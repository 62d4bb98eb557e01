"""The HTML page: self-contained, escaped, and drawn from ReportData."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from paretext.report import load, render_html, write_report
from paretext.store import SQLiteRunStore
from paretext.testing import RuleWorld


def test_counts_match_the_known_run(clean: Path) -> None:
    data = load(clean)
    html = render_html(data)
    # Counted from the store's own records, not from ReportData.
    store = SQLiteRunStore(clean, create=False)
    try:
        candidates = store.candidates()
        proposals = store.proposals()
    finally:
        store.close()
    parent_links = sum(len(c.parents) for c in candidates)
    merges = [c for c in candidates if len(c.parents) == 2]
    accepted = [p for p in proposals if p.accepted]
    assert len(accepted) == len(candidates) - 1 and merges
    assert len(re.findall(r'<g class="node[ "]', html)) == len(candidates)
    assert len(re.findall(r'<path class="edge', html)) == parent_links
    assert len(re.findall(r'<path class="edge merge"', html)) == 2 * len(merges)
    assert len(re.findall(r'<rect class="cell[ "]', html)) == len(candidates) * len(data.instances)
    # A dot per committed candidate; rejected proposals add to the curve but draw no dot.
    assert len(re.findall(r'<circle class="point[ "]', html)) == len(candidates)
    assert html.count('<path class="curve"') == 1
    assert html.count('<details class="change"') == len(accepted)
    assert f'class="node frontier best" data-id="{data.best}"' in html


def test_self_contained(clean: Path) -> None:
    html = render_html(load(clean))
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(http" not in html
    assert html.count("<script>") == 1 and html.count("</script>") == 1
    assert html.startswith("<!DOCTYPE html>")


def test_in_progress_run_renders_with_a_banner(partial: Path) -> None:
    html = render_html(load(partial))
    assert "no final summary yet" in html
    store = SQLiteRunStore(partial, create=False)
    try:
        committed = len(store.candidates())
    finally:
        store.close()
    assert committed == 3
    assert len(re.findall(r'<g class="node[ "]', html)) == committed


def test_failures_are_shown(messy: Path) -> None:
    html = render_html(load(messy))
    assert "reflection unusable" in html
    assert "ValueError: cannot answer ex17" in html


def test_user_text_is_escaped(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script> & <b>bold</b>"
    RuleWorld(n=12, categories=3).optimize(train=6, budget=60, run=tmp_path / "run", seed=evil)
    html = render_html(load(tmp_path / "run"))
    assert evil not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert html.count("<script>") == 1


def test_write_report_defaults_to_the_run_directory(clean: Path, tmp_path: Path) -> None:
    assert write_report(clean) == clean / "report.html"
    out = write_report(clean / "run.sqlite", tmp_path / "deep" / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_import_paretext_does_not_import_the_report() -> None:
    code = "import sys, paretext; assert 'paretext.report' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
