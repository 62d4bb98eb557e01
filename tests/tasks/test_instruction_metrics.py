"""IFBench and IFEval metrics: each broken instruction's description comes back as feedback."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from paretext.tasks import get_task
from paretext.tasks._checkers import checker_registry

KEYWORDS = {"keyword1": "apple", "keyword2": "pear", "keyword3": "fig", "keyword4": "kiwi",
            "keyword5": "lime"}  # fmt: skip
IFBENCH_EXAMPLE: dict[str, Any] = {
    "id": "ifbench/test",
    "prompt": "Write about fruit.",
    "instruction_id_list": ["count:keywords_multiple", "ratio:stop_words", "format:no_whitespace"],
    "kwargs": [KEYWORDS, {"percentage": 20}, {}],
}
IFEVAL_EXAMPLE: dict[str, Any] = {
    "id": "ifeval/test",
    "prompt": "Write a titled note of at least 8 words, without commas.",
    "instruction_id_list": [
        "punctuation:no_comma",
        "detectable_format:title",
        "length_constraints:number_words",
    ],
    "kwargs": [{}, {}, {"relation": "at least", "num_words": 8}],
}
FRUIT = "apple pear pear fig fig fig " + "kiwi " * 5 + "lime " * 7


def test_ifbench_all_followed() -> None:
    feedback = get_task("ifbench").metric(IFBENCH_EXAMPLE, FRUIT.strip().replace(" ", "_"))
    assert feedback.score == 1.0
    assert feedback.text == "All 3 instructions followed."


def test_ifbench_partial_and_failed_list_descriptions() -> None:
    metric = get_task("ifbench").metric
    partial = metric(IFBENCH_EXAMPLE, FRUIT)
    assert partial.score == pytest.approx(2 / 3)
    assert "Followed 2 of 3" in partial.text
    assert "should not contain any whitespace" in partial.text
    assert "[format:no_whitespace]" in partial.text

    failed = metric(IFBENCH_EXAMPLE, "the a an of")
    assert failed.score == 0.0
    assert "keyword apple once" in failed.text and "no more than 20%" in failed.text

    empty = metric(IFBENCH_EXAMPLE, "")
    assert empty.score == 0.0 and empty.text.startswith("The reply is empty.")


def test_ifeval_right_and_wrong() -> None:
    metric = get_task("ifeval").metric
    right = metric(
        IFEVAL_EXAMPLE, "<<Field Notes>>\nThis short note has plenty of words and no breaks"
    )
    assert right.score == 1.0
    wrong = metric(IFEVAL_EXAMPLE, "Hello, world.")
    assert wrong.score == 0.0
    assert "refrain from the use of any commas" in wrong.text
    assert "title, wrapped in double angular brackets" in wrong.text
    assert "at least 8 words" in wrong.text


def test_ifeval_sentence_counting_uses_punkt_tab() -> None:
    # IFEval's own loader wants the pickled punkt model; the punkt_tab swap must work.
    example = {
        "id": "ifeval/sent",
        "prompt": "Answer in fewer than 3 sentences.",
        "instruction_id_list": ["length_constraints:number_sentences"],
        "kwargs": [{"relation": "less than", "num_sentences": 3}],
    }
    metric = get_task("ifeval").metric
    assert metric(example, "One sentence. Two sentences.").score == 1.0
    assert metric(example, "One. Two. Three. Four.").score == 0.0


def test_real_records_score_in_range() -> None:
    for name in ("ifbench", "ifeval"):
        task = get_task(name)
        for example in task.load().val[:10]:
            feedback = task.metric(example, "A short reply.\n\nWith two paragraphs.")
            assert 0.0 <= feedback.score <= 1.0
            assert feedback.text


def test_checkers_load_without_network_or_spacy(monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk  # type: ignore[import-untyped]

    def no_network(*args: object, **kwargs: object) -> bool:
        raise AssertionError("nltk.download must never be called")

    monkeypatch.setattr(nltk, "download", no_network)
    # ratio:stop_words calls nltk.download("stopwords") inside the checker.
    assert get_task("ifbench").metric(IFBENCH_EXAMPLE, FRUIT).score > 0
    assert "count:keywords_multiple" in checker_registry("ifbench")
    if importlib.util.find_spec("spacy") is None:  # the stand-in must not outlive loading
        assert "spacy" not in sys.modules and "spacy.cli" not in sys.modules
    assert sys.modules["nltk"] is nltk  # the quiet stand-in was only used while loading
    assert "eval_framework" not in sys.modules  # the heavy package is never imported
