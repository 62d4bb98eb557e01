"""Transfer read from texts: line shapes with each task's own names abstracted."""

from __future__ import annotations

from paretext import Candidate, CandidateId, ExampleId
from paretext.artifact import find_transfers, line_shapes, transfer_hints

DOT = "float dot(const float *x, const float *y, int n) {\n    float s = 0;\n    return s;\n}"
AXPY = "void axpy(float *a, const float *b, int m) {\n    a[0] = b[0];\n}"


def cand(cid: str, parent: str | None, dot: str, axpy: str, scores: tuple[float, float],
         changed: tuple[str, ...], origin: str = "mutation") -> Candidate:
    return Candidate(
        id=CandidateId(cid),
        components={"dot": dot, "axpy": axpy},
        parents=(CandidateId(parent),) if parent else (),
        origin=origin,  # type: ignore[arg-type]
        iteration=None,
        changed=changed,
        val_scores={ExampleId("dot"): scores[0], ExampleId("axpy"): scores[1]},
    )


def test_shapes_abstract_the_tasks_own_names_but_keep_the_language() -> None:
    shapes = line_shapes("    float s0 = x[i] * y[i];", {"x", "y", "i"})
    assert list(shapes) == ["float s0 = _ [ _ ] * _ [ _ ] ;"]


def test_an_idea_introduced_on_one_task_and_adopted_on_another_is_a_transfer() -> None:
    seed = cand("c0", None, DOT, AXPY, (0.5, 0.5), ())
    idea = "    #pragma GCC unroll 4"
    dot2 = DOT.replace("    float s = 0;", "    float s = 0;\n" + idea)
    c1 = cand("c1", "c0", dot2, AXPY, (0.8, 0.5), ("dot",))
    axpy2 = AXPY.replace("    a[0]", idea + "\n    a[0]")
    c2 = cand("c2", "c1", dot2, axpy2, (0.8, 0.7), ("axpy",))
    found = find_transfers([seed, c1, c2], ["dot", "axpy"])
    assert len(found) == 1
    t = found[0]
    assert (t.source, t.source_task, t.target, t.target_task) == ("c1", "dot", "c2", "axpy")
    assert t.lines == ("#pragma GCC unroll 4",)
    assert round(t.gain, 3) == 0.2


def test_lines_every_seed_had_and_merges_are_not_transfers() -> None:
    seed = cand("c0", None, DOT, AXPY, (0.5, 0.5), ())
    same = DOT.replace("    float s = 0;", "    float s = 0;\n    float s = 0;")
    c1 = cand("c1", "c0", same, AXPY, (0.6, 0.5), ("dot",))
    c2 = cand("c2", "c1", same, AXPY + "\n// merged", (0.6, 0.6), ("axpy",), origin="merge")
    assert find_transfers([seed, c1, c2], ["dot", "axpy"]) == ()


def test_a_header_include_is_not_an_idea() -> None:
    seed = cand("c0", None, DOT, AXPY, (0.5, 0.5), ())
    c1 = cand("c1", "c0", "#include <stdio.h>\n" + DOT, AXPY, (0.8, 0.5), ("dot",))
    c2 = cand("c2", "c1", c1.components["dot"], "#include <stdio.h>\n" + AXPY, (0.8, 0.7),
              ("axpy",))
    assert find_transfers([seed, c1, c2], ["dot", "axpy"]) == ()


def test_hints_offer_the_biggest_gain_on_other_tasks_as_a_diff() -> None:
    seed = cand("c0", None, DOT, AXPY, (0.5, 0.5), ())
    c1 = cand("c1", "c0", DOT.replace("float s = 0;", "float s0 = 0, s1 = 0;"), AXPY,
              (0.9, 0.5), ("dot",))
    c2 = cand("c2", "c0", DOT.replace("float s = 0;", "double s = 0;"), AXPY,
              (0.6, 0.5), ("dot",))
    hints = transfer_hints([seed, c1, c2], "axpy", ["dot", "axpy"], k=2)
    assert len(hints) == 1
    best, task, diff = hints[0]
    assert best.id == "c1" and task == "dot"
    assert "+    float s0 = 0, s1 = 0;" in diff and "-    float s = 0;" in diff
    assert transfer_hints([seed, c1], "dot", ["dot", "axpy"], k=2) == []
