"""Side information sections: repeats collapsed, a shared budget, head and tail kept."""

from __future__ import annotations

import paretext as pt
from paretext._sections import collapse_repeats, render_sections
from paretext.metric import as_metric


def test_runs_of_a_line_collapse_with_a_count() -> None:
    text = "start\n" + "warning: unused variable\n" * 5 + "end"
    assert collapse_repeats(text) == "start\nwarning: unused variable  [repeated 5 times]\nend"


def test_later_exact_repeats_are_dropped_and_counted() -> None:
    text = "a failed\nb failed\na failed\nc failed\na failed"
    assert collapse_repeats(text) == "a failed\nb failed\nc failed\n[2 repeated lines omitted]"


def test_short_sections_stay_whole_and_a_long_one_keeps_head_and_tail() -> None:
    long = "\n".join(f"line {i}: something happened here" for i in range(400))
    out = render_sections({"timing": "speed-up 2.0x", "compiler": long}, budget=800)
    assert out.startswith("## timing\nspeed-up 2.0x\n## compiler\nline 0:")
    assert "line 399" in out
    assert "characters omitted" in out
    assert len(out) <= 900


def test_every_section_keeps_something_even_over_budget() -> None:
    sections = {f"s{i}": "x" * 1000 + f" end{i}" for i in range(6)}
    out = render_sections(sections, budget=300)
    for i in range(6):
        assert f"## s{i}" in out and f"end{i}" in out


def test_empty_sections_are_left_out() -> None:
    assert render_sections({"a": "  ", "b": ""}) == ""
    assert render_sections({"a": "", "b": "kept"}) == "## b\nkept"


async def test_a_plain_metrics_sections_reach_the_feedback_text() -> None:
    def metric(example: object, output: object) -> pt.Feedback:
        return pt.Feedback(0.5, "half right", sections={"tests": "test_a failed\n" * 3})

    fb = await as_metric(metric)(None, None, ())
    assert fb.text == "half right\n## tests\ntest_a failed  [repeated 3 times]"
