"""Writes tests/store/assets/v<SCHEMA_VERSION>.sqlite: a small finished run for upgrade tests.

Run once per schema version and commit the file; `test_upgrade.py` reads every one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from paretext.store import SCHEMA_VERSION
from paretext.testing import RuleWorld

target = Path(__file__).with_name("assets") / f"v{SCHEMA_VERSION}.sqlite"
if target.exists():
    sys.exit(f"{target} exists; asset files are written once per schema version")
RuleWorld(n=12, categories=3).optimize(train=6, budget=60, run=target)
for suffix in ("-wal", "-shm"):
    Path(f"{target}{suffix}").unlink(missing_ok=True)
print(f"wrote {target}")
