"""Databases written by every schema version still open and read (see make_asset.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
