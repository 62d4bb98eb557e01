"""Writes tests/store/assets/v<SCHEMA_VERSION>.sqlite: a small finished run for upgrade tests.

Run once per schema version and commit the file; `test_upgrade.py` reads every one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import paretext as pt
from paretext.store import SCHEMA_VERSION
from paretext.testing import RuleWorld, rule_reflector

target = Path(__file__).with_name("assets") / f"v{SCHEMA_VERSION}.sqlite"
if target.exists():
    sys.exit(f"{target} exists; asset files are written once per schema version")
world = RuleWorld(n=12, categories=3)
data = world.examples()
pt.optimize(
    {"system": "Solve it."},
    world.program,
    world.metric,
    data[:6],
    data[6:],
    reflection_lm=rule_reflector(1),
    budget=60,
    run=target,
)
for suffix in ("-wal", "-shm"):
    Path(f"{target}{suffix}").unlink(missing_ok=True)
print(f"wrote {target}")
