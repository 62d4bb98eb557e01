from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import paretext as pt
from paretext.errors import ConfigError
from paretext.lm import ChatRequest
from paretext.metric import Metric


def echo_lm() -> pt.ScriptedLM:
    return pt.ScriptedLM(lambda r: f"<{r.messages[0].content}|{r.messages[1].content}>")


async def test_pipeline_tags_each_step_and_feeds_earlier_outputs() -> None:
    program = pt.Pipeline(
        echo_lm(),
        [
            pt.ChatStep(component="plan", template="Q: {question}", name="plan"),
            pt.ChatStep(component="answer", template="Plan was {plan}"),
        ],
    )
    out = await program.run({"plan": "P", "answer": "A"}, {"question": "2+2?"})
    assert [s.component for s in out.trace] == ["plan", "answer"]
    assert out.trace[0].output == "<P|Q: 2+2?>"
    assert out.output == "<A|Plan was <P|Q: 2+2?>>"
    assert program.uses_components() == {"plan", "answer"}


async def test_chat_program_formats_non_dict_examples_and_reports_missing_fields() -> None:
    program = pt.ChatProgram(echo_lm(), component="system")
    assert (await program.run({"system": "S"}, "hello")).output == "<S|hello>"
    bad = pt.ChatProgram(echo_lm(), template="{missing}")
    with pytest.raises(ConfigError, match="'missing' is not in the example"):
        await bad.run({"system": "S"}, {"question": 1})


async def test_truncated_replies_are_marked_in_the_trace() -> None:
    lm = pt.ScriptedLM(
        lambda r: pt.LMResponse("half an ans", "m", finish_reason="length", cost_usd=0.0)
    )
    out = await pt.ChatProgram(lm).run({"system": "s"}, "q")
    assert "truncated" in out.trace[0].output and out.output == "half an ans"


async def test_sync_functions_run_off_the_event_loop_and_may_trace() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def program(candidate: Any, example: Any, trace: pt.Trace) -> str:
        seen.append(threading.get_ident())
        trace.step("system", example, "out", name="only")
        return "out"

    result = await pt.FunctionProgram(program).run({"system": "s"}, {"x": 1})
    assert seen and seen[0] != loop_thread
    assert result.trace[0].name == "only" and result.trace[0].component == "system"


async def test_plain_functions_get_an_untagged_step() -> None:
    async def program(candidate: Any, example: Any) -> int:
        await asyncio.sleep(0)
        return 7

    result = await pt.FunctionProgram(program).run({}, "ex")
    assert (
        result.output == 7 and result.trace[0].component is None and result.trace[0].inputs == "ex"
    )


@pytest.mark.parametrize(
    ("value", "score", "text"),
    [
        (pt.Feedback(0.5, "half"), 0.5, "half"),
        (1, 1.0, "Correct."),
        (True, 1.0, "Correct."),
        (0.25, 0.25, "Score 0.25 of 1."),
        ((0.0, "wrong unit"), 0.0, "wrong unit"),
        ({"score": 0.0, "feedback": "why"}, 0.0, "why"),
    ],
)
async def test_metric_results_are_coerced(value: Any, score: float, text: str) -> None:
    fb = await Metric(lambda e, o: value)("e", "o", ())
    assert (fb.score, fb.text) == (score, text)


async def test_metric_may_read_the_trace() -> None:
    fb = await Metric(lambda e, o, t: len(t) / 2)("e", "o", (pt.TraceStep(None, 1, 2),))
    assert fb.score == 0.5


async def test_chat_program_accepts_a_model_string_for_a_local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    program = pt.ChatProgram("openai/some-model")
    assert program.lm.model.endswith("some-model")


def test_request_cache_key_ignores_nothing_that_matters() -> None:
    a = ChatRequest.of([{"role": "user", "content": "x"}], temperature=0.0)
    b = ChatRequest.of([{"role": "user", "content": "x"}], temperature=0.0, sample=1)
    assert a.cache_key("m") != b.cache_key("m") != a.cache_key("n")
    assert a.cache_key("m") == ChatRequest.of(
        [{"role": "user", "content": "x"}], temperature=0.0
    ).cache_key("m")
