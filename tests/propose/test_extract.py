import pytest

from paretext.errors import ReflectionParseError
from paretext.propose import extract_text, truncate_middle
from paretext.propose._extract import trim_cut_off
from paretext.propose._templates import REFLECTION_FULL, REFLECTION_SHORT, pick_template

CURRENT = "Answer the question."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("```\nAlways show the units.\n```", "Always show the units."),
        (
            "Sure! Here it is:\n```text\nAlways show the units.\n```\nHope this helps.",
            "Always show the units.",
        ),
        (
            "```markdown\nStep 1: read.\nStep 2: answer with units.\n```",
            "Step 1: read.\nStep 2: answer with units.",
        ),
        (
            "Thoughts first.\n```\nshort\n```\nFinal:\n```\nAlways show the units, in SI.\n```",
            "Always show the units, in SI.",
        ),
        (
            "```\nAlways show the units and cite the rule.",
            "Always show the units and cite the rule.",
        ),
        ("Here is the improved instruction:\nAlways show the units.", "Always show the units."),
        ("Always show the units.", "Always show the units."),
    ],
)
def test_extracts_the_new_text_from_messy_replies(reply: str, expected: str) -> None:
    assert extract_text(reply, current=CURRENT) == expected


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "holds no instruction"),
        ("```\n\n```", "holds no instruction"),
        ("```\nAnswer   the\nquestion.\n```", "repeats the current instruction"),
        ("Please provide the inputs so I can help.", "echoes the reflection prompt"),
        (
            "```\nWrite an improved instruction that fixes the problems.\n```",
            "echoes the reflection prompt",
        ),
    ],
)
def test_refuses_replies_that_are_not_an_instruction(reply: str, why: str) -> None:
    with pytest.raises(ReflectionParseError, match=why):
        extract_text(reply, current=CURRENT)


def test_refuses_a_copied_example() -> None:
    example = "A train leaves the station at 3pm going 60 miles per hour towards the city."
    with pytest.raises(ReflectionParseError, match="copies an example"):
        extract_text(f"```\n{example}\n```", current=CURRENT, examples=[example])


def test_structured_replies() -> None:
    assert (
        extract_text('{"new_instruction": "Show units."}', current=CURRENT, structured=True)
        == "Show units."
    )
    with pytest.raises(ReflectionParseError, match="expected JSON"):
        extract_text("not json", current=CURRENT, structured=True)


def test_truncate_middle_keeps_head_and_tail_and_marks_the_cut() -> None:
    text = "HEAD" + "x" * 5000 + "TAIL"
    cut = truncate_middle(text, 300)
    assert len(cut) <= 300 and cut.startswith("HEAD") and cut.endswith("TAIL")
    assert "characters omitted" in cut
    assert truncate_middle("short", 300) == "short"


def test_small_models_get_the_short_template() -> None:
    assert pick_template("auto", "local/qwen2.5-coder-1.5b-instruct") is REFLECTION_SHORT
    assert pick_template("auto", "openai/gpt-4.1-mini") is REFLECTION_FULL
    assert pick_template("short", "openai/gpt-5") is REFLECTION_SHORT


def test_a_cut_off_looping_reply_keeps_each_sentence_once_and_drops_the_fragment() -> None:
    loop = "The passage must not contain unrelated text. "
    reply = f"```\nAnswer yes or no.\nUse only the passage. {loop * 12}The passage must not"
    text = extract_text(reply, current=CURRENT, cut_off=True)
    assert text == (
        "Answer yes or no.\nUse only the passage. The passage must not contain unrelated text."
    )
    # The same reply, not cut off, is taken as it is: repetition alone is not a loop.
    assert extract_text(reply, current=CURRENT).endswith("The passage must not")
    assert trim_cut_off("Only a fragment without an end") == "Only a fragment without an end"
    # A closed fence holds the whole text: a cut after it changes nothing.
    whole = "```\nStep one.\nStep one.\n- no period here\n```\nWhy: because"
    assert extract_text(whole, current=CURRENT, cut_off=True).endswith("- no period here")


def test_a_text_already_evaluated_is_refused_so_it_can_be_asked_again() -> None:
    known = {"Tried before."}.__contains__
    with pytest.raises(ReflectionParseError, match="already evaluated"):
        extract_text("```\nTried before.\n```", current=CURRENT, known=known)
    assert extract_text("```\nA new rule.\n```", current=CURRENT, known=known) == "A new rule."


def test_a_cut_off_reply_without_any_fence_is_refused() -> None:
    with pytest.raises(ReflectionParseError, match="cut off at max_tokens"):
        extract_text("Let me think about what the instruction", current=CURRENT, cut_off=True)
