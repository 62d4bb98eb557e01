"""MATH/AIME and GSM8K metrics: scores and feedback on known right and wrong outputs."""

from __future__ import annotations

from typing import Any

import pytest

from paretext.tasks import _answers, get_task, last_boxed, math_equal
from paretext.tasks._answers import normalize_answer, parse_number


def _math_example(**overrides: Any) -> dict[str, Any]:
    example = {
        "id": "t/1",
        "problem": "What is 1/2 + 1/4?",
        "solution": "We add: $\\frac12 + \\frac14 = \\boxed{\\frac{3}{4}}$.",
        "answer": "\\frac{3}{4}",
    }
    example.update(overrides)
    return example


def test_last_boxed_balances_braces_and_takes_the_last() -> None:
    assert last_boxed("first \\boxed{1}, then \\boxed{\\frac{a}{b}} end") == "\\frac{a}{b}"
    assert last_boxed("\\boxed 7$") == "7"
    assert last_boxed("\\fbox{x+1}") == "x+1"
    assert last_boxed("no box") is None
    assert last_boxed("\\boxed{unclosed") is None


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("\\dfrac{3}{4}", "\\frac{3}{4}"),
        ("0.75", "\\frac34"),
        ("3/4", "\\frac{3}{4}"),
        ("10^\\circ", "10"),
        ("x = 5", "5"),
        ("1,000", "1000"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
        ("[0,\\infty)", "[0, \\infty)"),
        ("\\$5.00", "5"),
        ("\\text{(B)}", "\\text{(B)}"),
    ],
)
def test_equal_answers(predicted: str, gold: str) -> None:
    assert math_equal(predicted, gold)


@pytest.mark.parametrize(("predicted", "gold"), [("2", "3"), ("\\frac{1}{3}", "0.33"), ("", "1")])
def test_different_answers(predicted: str, gold: str) -> None:
    assert not math_equal(predicted, gold)


def test_math_verify_is_used_for_symbolic_equality() -> None:
    assert _answers._math_verify() is not None, "math-verify should be installed (tasks extra)"
    assert math_equal("7(x+3)(x-3)", "7(x-3)(x+3)")
    assert math_equal("12, 10, 6", "6,10,12")


def test_normalizer_fallback_without_math_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_answers, "_math_verify", lambda: None)
    assert math_equal("\\dfrac{1}{2}", "0.5")
    assert not math_equal("7(x+3)(x-3)", "7(x-3)(x+3)")
    assert normalize_answer("\\sqrt2") == normalize_answer("\\sqrt{2}")
    assert parse_number("-1,234.50") == parse_number("-1234.5")
    assert parse_number("twelve") is None


def test_math_metric_right_wrong_and_missing() -> None:
    metric = get_task("math").metric
    right = metric(_math_example(), "1/2 + 1/4 = 3/4, so $\\boxed{0.75}$.")
    assert right.score == 1.0 and "Correct" in right.text
    wrong = metric(_math_example(), "The sum is \\boxed{\\frac{2}{6}}.")
    assert wrong.score == 0.0
    assert "\\frac{2}{6}" in wrong.text and "correct answer is \\frac{3}{4}" in wrong.text
    assert "Expert solution:" in wrong.text and "\\frac12 + \\frac14" in wrong.text
    missing = metric(_math_example(), "It is three quarters.")
    assert missing.score == 0.0 and "\\boxed{...}" in missing.text
    assert "Expert solution" in missing.text


def test_math_metric_on_real_records_and_aime() -> None:
    task = get_task("math")
    example = task.load().val[0]
    assert task.metric(example, example["solution"]).score == 1.0
    aime = get_task("aime")
    problem = aime.load().test[0]
    assert aime.metric(problem, f"... \\boxed{{{problem['answer']}}}").score == 1.0
    feedback = aime.metric(problem, "\\boxed{1000}")
    assert feedback.score == 0.0 and problem["answer"] in feedback.text
    assert "Expert solution" not in feedback.text  # AIME ships answers only


def test_gsm8k_metric_teaches_the_format() -> None:
    task = get_task("gsm8k")
    example = {"id": "g", "question": "?", "answer": "18", "reasoning": "9 eggs * $2 = 18"}
    assert task.metric(example, "9 * 2 = 18\n18").score == 1.0
    assert task.metric(example, "Reasoning.\n**18**").score == 1.0
    assert task.metric(example, "so:\n1,8").score == 0.0

    wordy = task.metric(example, "She makes 9 * 2 = 18 dollars.\nThe answer is $18.")
    assert wordy.score == 0.0
    assert "Format error" in wordy.text and "single number" in wordy.text
    assert "does mention the expected answer 18" in wordy.text
    assert "9 eggs * $2 = 18" in wordy.text

    wrong = task.metric(example, "9 + 2\n11")
    assert wrong.score == 0.0
    assert "expected 18, but the last line says 11" in wrong.text
    assert "Reference solution" in wrong.text

    empty = task.metric(example, "   ")
    assert empty.score == 0.0 and "empty" in empty.text


def test_gsm8k_metric_on_a_real_record() -> None:
    task = get_task("gsm8k")
    example = task.load().train[0]
    assert task.metric(example, f"{example['reasoning']}\n{example['answer']}").score == 1.0


def test_math_equal_works_off_the_main_thread() -> None:
    # math-verify's timeouts use SIGALRM, which only the main thread may set.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(math_equal, ["7(x+3)(x-3)", "2"], ["7(x-3)(x+3)", "3"]))
    assert results == [True, False]
