"""BoolQ's metric: strict yes/no format, feedback that tells format errors from wrong answers."""

from __future__ import annotations

import pytest

from paretext.tasks import get_task

EXAMPLE = {"id": "b", "title": "T", "passage": "P", "question": "is it so", "answer": "no"}


@pytest.mark.parametrize("reply", ["no", "No", " NO.\n", "**No**", '"no"', "no!"])
def test_a_bare_right_answer_scores_one(reply: str) -> None:
    feedback = get_task("boolq").metric(EXAMPLE, reply)
    assert feedback.score == 1.0 and "Correct" in feedback.text


def test_a_bare_wrong_answer_names_the_expected_one() -> None:
    feedback = get_task("boolq").metric(EXAMPLE, "Yes")
    assert feedback.score == 0.0
    assert "says yes, but the passage supports no" in feedback.text
    assert "is it so" in feedback.text


def test_a_sentence_is_a_format_error_that_says_whether_its_first_word_was_right() -> None:
    metric = get_task("boolq").metric
    right = metric(EXAMPLE, "No, it is not so. The passage says otherwise.")
    assert right.score == 0.0
    assert "Format error" in right.text and "starts with 'no', which is right" in right.text
    assert "exactly one word, yes or no" in right.text and "expected answer is no" in right.text
    wrong = metric(EXAMPLE, "Yes, it is.")
    assert "starts with 'yes', which is wrong" in wrong.text
    off = metric(EXAMPLE, "The passage does not say.")
    assert off.score == 0.0 and "does not answer yes or no" in off.text
    empty = metric(EXAMPLE, "  ")
    assert empty.score == 0.0 and "empty" in empty.text


def test_the_template_renders_a_real_record() -> None:
    task = get_task("boolq")
    example = task.load().val[0]
    message = task.template.format(**example)
    assert example["passage"] in message and message.endswith(example["question"])
    assert task.metric(example, example["answer"].capitalize()).score == 1.0
