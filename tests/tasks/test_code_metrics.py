"""MBPP and HumanEval metrics: code extraction, sandboxed tests, and feedback that says why."""

from __future__ import annotations

import pytest

from paretext.tasks import SandboxLimits, _code, extract_code, get_task, run_tests
from paretext.tasks._code import humaneval_records, mbpp_records

QUICK = SandboxLimits(wall_seconds=3.0, cpu_seconds=1)


def _fenced(code: str) -> str:
    return f"Here you go:\n```python\n{code}\n```\nHope this helps."


def test_extract_code_prefers_the_block_that_defines_the_entry_point() -> None:
    reply = "```python\ndef f():\n    return 1\n```\nUsage:\n```python\nprint(f())\n```"
    assert extract_code(reply, "f") == "def f():\n    return 1\n"
    assert extract_code(reply) == "print(f())\n"
    assert extract_code("```\nx = 1\n```") == "x = 1\n"
    assert extract_code("```python\ndef g():\n    return 2") == "def g():\n    return 2"
    assert extract_code("def h():\n    return 3") == "def h():\n    return 3"
    assert extract_code("    return a + b\n") == "    return a + b\n"  # a bare body
    assert extract_code("I cannot solve this.") is None
    assert extract_code("") is None


def test_run_tests_reports_each_assert_with_both_sides() -> None:
    run = run_tests(
        "def add(a, b):\n    return a - b",
        ["assert add(1, 1) == 2", "assert add(2, 0) == 2", "assert add(1, 2) > 5"],
        limits=QUICK,
    )
    assert (run.passed, run.total, run.all_passed) == (1, 3, False)
    first = run.outcomes[0].error
    assert "assert add(1, 1) == 2" in first and "got:      0" in first and "expected: 2" in first
    assert "Traceback" not in first  # the rewritten assert says enough
    assert "assert add(1, 2) > 5" in run.outcomes[2].error


def test_mbpp_reference_solutions_pass() -> None:
    task = get_task("mbpp")
    for record in mbpp_records()[:8]:
        feedback = task.metric(record, _fenced(record["reference"]))
        assert feedback.score == 1.0, (record["id"], feedback.text)
        assert feedback.text == "All 3 tests passed."


def test_mbpp_with_test_setup_code() -> None:
    record = next(r for r in mbpp_records() if r["setup"])
    feedback = get_task("mbpp").metric(record, _fenced(record["reference"]))
    assert feedback.score == 1.0, feedback.text


def test_humaneval_reference_solutions_pass() -> None:
    task = get_task("humaneval")
    for record in humaneval_records()[:8]:
        feedback = task.metric(record, _fenced(record["reference"]))
        assert feedback.score == 1.0, (record["id"], feedback.text)


def test_mbpp_wrong_answer_shows_got_and_expected() -> None:
    record = mbpp_records()[0]  # remove_Occ: drop first and last occurrence of a character
    wrong = "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)"
    feedback = get_task("mbpp").metric(record, _fenced(wrong))
    assert feedback.score == 0.0
    assert "0 of 3 tests passed." in feedback.text
    assert "got:      'helo'" in feedback.text and "expected: 'heo'" in feedback.text


def test_mbpp_exception_shows_the_trimmed_traceback() -> None:
    record = mbpp_records()[0]
    crash = "def remove_Occ(s, ch):\n    return s[100]"
    feedback = get_task("mbpp").metric(record, _fenced(crash))
    assert feedback.score == 0.0
    assert "IndexError: string index out of range" in feedback.text
    assert 'File "solution.py", line 2, in remove_Occ' in feedback.text
    assert "<sandbox>" not in feedback.text and "harness" not in feedback.text


def test_mbpp_missing_and_broken_code() -> None:
    metric = get_task("mbpp").metric
    record = mbpp_records()[0]
    none = metric(record, "I would loop over the string.")
    assert none.score == 0.0 and "No Python code found" in none.text and "```python" in none.text
    broken = metric(record, _fenced("def remove_Occ(s, ch)\n    return s"))
    assert broken.score == 0.0
    assert "failed before any test ran" in broken.text and "SyntaxError" in broken.text


def test_mbpp_endless_loop_names_the_unfinished_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_code, "LIMITS", QUICK)
    record = mbpp_records()[0]
    feedback = get_task("mbpp").metric(
        record, _fenced("def remove_Occ(s, ch):\n    while True:\n        pass")
    )
    assert feedback.score == 0.0
    assert "Did not finish" in feedback.text and "remove_Occ" in feedback.text
    assert "endless loop" in feedback.text


def test_code_metric_refuses_shelling_out_and_reports_it() -> None:
    record = mbpp_records()[0]
    sneaky = "import os\ndef remove_Occ(s, ch):\n    os.system('id')\n    return s"
    feedback = get_task("mbpp").metric(record, _fenced(sneaky))
    assert feedback.score == 0.0
    assert "The sandbox refused: running a shell command (os.system)." in feedback.text


def test_humaneval_wrong_body_and_bare_body() -> None:
    task = get_task("humaneval")
    record = humaneval_records()[0]  # has_close_elements
    wrong = task.metric(
        record, _fenced("def has_close_elements(numbers, threshold):\n    return False")
    )
    assert wrong.score == 0.0 and "The test failed." in wrong.text
    assert "got:      False" in wrong.text and "expected: True" in wrong.text
    body = record["reference"][len(record["prompt"]) :]
    assert task.metric(record, body).score == 1.0  # only the body, as a completion model would


def test_humaneval_helpers_from_the_prompt_are_available() -> None:
    # HumanEval/38 decodes with encode_cyclic, which only the prompt defines.
    record = next(r for r in humaneval_records() if r["id"] == "HumanEval/38")
    solution = "def decode_cyclic(s: str):\n    return encode_cyclic(encode_cyclic(s))"
    assert get_task("humaneval").metric(record, _fenced(solution)).score == 1.0


def test_main_blocks_in_the_reply_do_not_run() -> None:
    record = mbpp_records()[0]
    reply = _fenced(record["reference"] + "\n\nif __name__ == '__main__':\n    print(input())")
    assert get_task("mbpp").metric(record, reply).score == 1.0


def test_a_torn_results_line_is_ignored() -> None:
    from paretext.tasks._harness import _events

    torn = '{"stage": "code", "ok": true}\n{"stage": "start", "ind'
    assert _events(torn) == [{"stage": "code", "ok": True}]
