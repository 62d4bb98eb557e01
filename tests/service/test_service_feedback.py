"""Events become examples and a metric: corrections, judged free text, ratings."""

from __future__ import annotations

import json

import pytest

from paretext.lm import ChatRequest, ScriptedLM
from paretext.service import EventMetric, parse_grade, similarity
from paretext.service._feedback import JudgeError, event_example, split
from paretext.service._records import EventRecord


def _event(i: int = 1, **signal: object) -> EventRecord:
    fields: dict[str, object] = {
        "feedback": None,
        "score": None,
        "thumbs": None,
        "corrected": None,
        **signal,
    }
    return EventRecord(
        id=i,
        slot_id=1,
        user_key="",
        client_id=None,
        version=1,
        input="What is 2+2?",
        output="It is four, as far as I can tell.",
        created_at=0.0,
        **fields,  # type: ignore[arg-type]
    )


async def test_a_correction_is_compared_with() -> None:
    metric = EventMetric(judge=None)
    example = event_example(_event(corrected="4"))
    assert (await metric(example, " 4 ")).score == 1.0
    wrong = await metric(example, "It is four, as far as I can tell.")
    assert wrong.score < 0.3 and "'4'" in wrong.text


async def test_free_text_goes_to_the_judge_with_the_users_words() -> None:
    seen: list[str] = []

    def judge(request: ChatRequest) -> str:
        seen.append(request.messages[-1].content)
        return 'Sure! {"score": 0.9, "reason": "short and right"}'

    metric = EventMetric(ScriptedLM(judge, model="judge"))
    example = event_example(_event(feedback="too long, just give the number"))
    graded = await metric(example, "4")
    assert graded.score == 0.9
    assert "short and right" in graded.text and "too long, just give the number" in graded.text
    assert "too long, just give the number" in seen[0] and "A new answer:\n4" in seen[0]
    with pytest.raises(JudgeError, match="no judge"):
        await EventMetric(None)(example, "4")


async def test_ratings_carry_over_by_similarity() -> None:
    metric = EventMetric(judge=None)
    liked = event_example(_event(thumbs=True))
    disliked = event_example(_event(score=0.0))
    same = "It is four, as far as I can tell."
    assert (await metric(liked, same)).score == 1.0
    assert (await metric(disliked, same)).score == 0.0
    assert (await metric(disliked, "4")).score > 0.5


def test_parse_grade() -> None:
    assert parse_grade('{"score": 1.7, "reason": "r"}') == (1.0, "r")
    assert parse_grade('```json\n{"score": 0.25}\n```') == (0.25, "")
    for bad in ("no json here", '{"reason": "x"}', '{"score": "high"}', '{"score": NaN}'):
        with pytest.raises(JudgeError):
            parse_grade(bad)


def test_similarity_ignores_case_and_spacing() -> None:
    assert similarity("Hello  World", "hello world") == 1.0
    assert 0.0 < similarity("hello", "help") < 1.0


def test_split_holds_out_the_newest_and_deals_the_rest() -> None:
    examples = [event_example(_event(i, thumbs=True)) for i in range(1, 21)]
    train, val, holdout = split(examples, 0.25)
    assert [e["id"] for e in holdout] == [f"e{i}" for i in range(16, 21)]
    assert sorted(e["id"] for e in train + val) == sorted(f"e{i}" for i in range(1, 16))
    assert abs(len(train) - len(val)) <= 1
    assert split(examples, 0.25) == (train, val, holdout)  # fixed, so a retried round resumes
    assert json.loads(json.dumps(examples[0]))["event"]["thumbs"] is True
