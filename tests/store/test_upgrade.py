"""Databases written by every schema version still open and read (see make_asset.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paretext import Verdict
from paretext.engine import replay
from paretext.store import SCHEMA_VERSION, SQLiteRunStore

ASSETS = sorted(Path(__file__).with_name("assets").glob("v*.sqlite"))


def test_there_is_an_asset_for_the_current_schema() -> None:
    assert Path(__file__).with_name("assets").joinpath(f"v{SCHEMA_VERSION}.sqlite") in ASSETS


@pytest.mark.parametrize("asset", ASSETS, ids=[a.stem for a in ASSETS])
def test_old_stores_upgrade_and_read(asset: Path, tmp_path: Path) -> None:
    copy = tmp_path / asset.name
    shutil.copy(asset, copy)
    store = SQLiteRunStore(copy, create=False)
    try:
        assert store.schema_version == SCHEMA_VERSION
        info = store.info()
        assert info.status == "finished" and info.summary is not None
        candidates = store.candidates()
        assert candidates[0].origin == "seed" and info.summary["best"] in {c.id for c in candidates}
        assert store.rollouts() and store.lm_calls() and store.proposals() and store.events()
    finally:
        store.close()


@pytest.mark.parametrize("asset", ASSETS, ids=[a.stem for a in ASSETS])
def test_old_stores_replay_to_their_summary(asset: Path, tmp_path: Path) -> None:
    copy = tmp_path / asset.name
    shutil.copy(asset, copy)
    store = SQLiteRunStore(copy, create=False)
    try:
        summary = store.info().summary
        snapshot = replay(store)
    finally:
        store.close()
    assert summary is not None
    assert snapshot.best.id == summary["best"]
    assert snapshot.rollouts_spent == summary["rollouts_used"]
    if "frontier" in summary:  # v1 summaries listed the frontier
        assert list(snapshot.frontier) == summary["frontier"]


def test_v1_reasons_become_verdicts(tmp_path: Path) -> None:
    copy = tmp_path / "v1.sqlite"
    shutil.copy(Path(__file__).with_name("assets") / "v1-messy.sqlite", copy)
    store = SQLiteRunStore(copy, create=False)
    try:
        proposals = store.proposals()
    finally:
        store.close()
    starts = {
        "accepted": Verdict.ACCEPTED,
        "reflection unusable": Verdict.REFLECTION_UNUSABLE,
        "same text as proposal": Verdict.DUPLICATE_IN_FLIGHT,
        "skipped:": Verdict.SKIPPED_PERFECT,
    }
    seen = set()
    for p in proposals:
        (verdict,) = [v for start, v in starts.items() if p.reason.startswith(start)]
        assert p.verdict is verdict
        seen.add(verdict)
    assert seen == set(starts.values())
    assert [p.failed for p in proposals] == [
        p.reason.startswith("reflection unusable") for p in proposals
    ]
