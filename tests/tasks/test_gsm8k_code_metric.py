"""GSM8K with programs: the code in a reply really runs, and the feedback says what it did."""

from __future__ import annotations

from paretext.tasks import get_task

EXAMPLE = {"id": "x", "question": "Tom has 3 boxes of 14 pens and gives away 5. How many left?",
           "answer": "37", "reasoning": "3 * 14 = 42 pens; 42 - 5 = 37."}


def metric(reply: str) -> tuple[float, str]:
    feedback = get_task("gsm8k_code").metric(EXAMPLE, reply)
    return feedback.score, feedback.text


def test_a_program_that_prints_the_answer_scores() -> None:
    assert metric("```python\nboxes = 3 * 14\nprint(boxes - 5)\n```") == (
        1.0, "Correct: the answer is 37.")


def test_a_plain_reply_is_read_from_its_last_line() -> None:
    assert metric("3 * 14 = 42, minus 5:\n37")[0] == 1.0
    score, text = metric("He has 37 pens left.")
    assert score == 0.0 and "no Python code block" in text and "not a bare number" in text


def test_a_wrong_program_shows_what_it_printed_and_the_reference() -> None:
    score, text = metric("```python\nprint(3 * 14 + 5)\n```")
    assert score == 0.0 and "'47'" in text and "expected 37" in text and "42 - 5 = 37" in text


def test_a_crashing_or_silent_program_is_explained() -> None:
    score, text = metric("```python\nprint(pens)\n```")
    assert score == 0.0 and "NameError" in text and "did not run to the end" in text
    score, text = metric("```python\nx = 37\n```")
    assert score == 0.0 and "printed nothing" in text


def test_the_task_reuses_gsm8k_with_the_plain_seed_prompt() -> None:
    task, plain = get_task("gsm8k_code"), get_task("gsm8k")
    assert dict(task.seed) == dict(plain.seed) and task.template == plain.template
    assert task.source().dev == plain.source().dev and not task.test_time
    search, mbpp = get_task("mbpp_search"), get_task("mbpp")
    splits = search.load(0)
    assert search.test_time and (len(splits.train), len(splits.val), len(splits.test)) == (0, 0, 20)
    assert search.metric is mbpp.metric and search.load(1).test == splits.test
