"""Stable fingerprints (issue 15 point 3): examples holding sets, dataclasses and other values
resume in a new process (with another hash seed); what has no stable encoding is refused
up front, naming the field, before anything is written."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import paretext as pt
from paretext.testing import RuleWorld, rule_reflector

SCRIPT = """
import dataclasses, datetime, enum, json, sys
import paretext as pt
from paretext.testing import RuleWorld, rule_reflector

class Colour(enum.Enum):
    RED = "red"

@dataclasses.dataclass
class Meta:
    tags: frozenset
    when: datetime.date

world = RuleWorld()
data = [
    {**e, "tags": {"alpha", "beta", "gamma", "delta"}, "meta": Meta(frozenset({"x", "y"}),
     datetime.date(2024, 1, 2)), "colour": Colour.RED, "raw": b"\\x00\\xff"}
    for e in world.examples()
]

def program(candidate, example):
    return world.program(candidate, example)

def metric(example, output):
    return world.metric(example, output)

result = pt.optimize({"system": "Solve it."}, program, metric, data[:15], data[15:],
                     reflection_lm=rule_reflector(1), budget=60, run=sys.argv[1])
print(json.dumps({"best": result.best.id, "candidates": len(result.candidates)}))
"""


def _run(script: Path, run_dir: Path, hash_seed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, str(script), str(run_dir)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_sets_and_objects_resume_in_another_process(tmp_path: Path) -> None:
    script = tmp_path / "task.py"
    script.write_text(textwrap.dedent(SCRIPT))
    first = _run(script, tmp_path / "run", "1")
    assert first.returncode == 0, first.stderr
    again = _run(script, tmp_path / "run", "2")  # other set iteration order, same data
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)


class Opaque:
    def __init__(self) -> None:
        self.x = 1


def test_values_without_a_stable_encoding_are_refused_naming_the_field(tmp_path: Path) -> None:
    world = RuleWorld()
    data = world.examples()
    bad = [dict(e) for e in data[:15]]
    bad[3] = {**bad[3], "extra": {"inner": [1, Opaque()]}}
    with pytest.raises(pt.errors.ConfigError, match=r"trainset\[3\]\['extra'\]\['inner'\]\[1\]"):
        pt.optimize({"system": "s"}, world.program, world.metric, bad, data[15:],
                    reflection_lm=rule_reflector(1), budget=60, run=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before the run store was created


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({(1, 2): "x"}, "key of type tuple"),
        ({1: "a", "1": "b"}, "two keys"),
    ],
)
def test_unencodable_keys_are_refused(value: object, message: str) -> None:
    from paretext._canonical import to_canonical

    with pytest.raises(pt.errors.ConfigError, match=message):
        to_canonical(value, "trainset[0]")


def test_circular_data_is_refused() -> None:
    from paretext._canonical import to_canonical

    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(pt.errors.ConfigError, match="contains itself"):
        to_canonical(loop)


def test_plain_json_keeps_its_old_fingerprint() -> None:
    import hashlib

    from paretext._canonical import canonical_hash

    data = {"b": [1, 2.5, None, True], "a": "é\udcff"}
    old = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_hash(data) == hashlib.sha256(old.encode("utf-8", "surrogatepass")).hexdigest()


def test_sets_encode_sorted_and_dataclasses_by_field() -> None:
    from paretext._canonical import to_canonical

    @dataclasses.dataclass
    class P:
        a: int
        b: set[str]

    assert to_canonical({"s": {"b", "a"}}) == {"s": ["a", "b"]}
    encoded = to_canonical(P(1, {"y", "x"}))
    assert encoded["a"] == 1 and encoded["b"] == ["x", "y"]
    assert encoded["__dataclass__"].endswith("P")
