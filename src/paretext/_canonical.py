"""A canonical encoding of example data, so a run's fingerprint is the same in every process.

The rule, applied recursively (never ``repr``, whose text can change between
processes, as with sets of strings under hash randomisation):

* ``None``, ``bool``, ``int``, ``float``, ``str``: as JSON;
* mappings: keys must be ``str`` (or ``int``/``float``/``bool``/``None``, as JSON
  writes them), sorted;
* lists and tuples: as JSON arrays, in order;
* sets and frozensets: as arrays sorted by their elements' encodings;
* ``bytes``: ``{"__bytes__": hex}``; ``Enum`` members: their value;
  ``datetime``/``date``/``time``: ISO 8601; ``Decimal``, ``UUID``, paths: ``str``;
* dataclasses: ``{"__dataclass__": qualified name, field: value, ...}``; pydantic
  models: their ``model_dump()``.

Anything else is refused with :class:`~paretext.errors.ConfigError` naming the
field, before a rollout is spent.  Data that is plain JSON encodes exactly as
:func:`paretext._ids.canonical_json` does, so existing runs keep their fingerprint.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from .errors import ConfigError

__all__ = ["canonical_hash", "canonical_text", "to_canonical"]

_SCALARS = (str, int, float, bool, type(None))


def to_canonical(value: Any, where: str = "value", _seen: frozenset[int] = frozenset()) -> Any:
    """``value`` as plain JSON data by the rule above; ``where`` names it in errors."""
    if isinstance(value, _SCALARS):
        return value
    if id(value) in _seen:
        raise ConfigError(f"{where} contains itself: example data must not be circular")
    seen = _seen | {id(value)}
    if isinstance(value, enum.Enum):
        return to_canonical(value.value, where, seen)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, _SCALARS):
                raise ConfigError(
                    f"{where} has a key of type {type(key).__name__} ({key!r}): keys of example "
                    "data must be strings or numbers"
                )
            name = json.dumps(key) if not isinstance(key, str) else key
            if name in out:
                raise ConfigError(f"{where} has two keys that both encode as {name!r}")
            out[name] = to_canonical(item, f"{where}[{key!r}]", seen)
        return out
    if isinstance(value, list | tuple):
        return [to_canonical(item, f"{where}[{i}]", seen) for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [to_canonical(item, f"{where} (a set)", seen) for item in value]
        return sorted(items, key=canonical_text)
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        cls = type(value)
        return {
            "__dataclass__": f"{cls.__module__}.{cls.__qualname__}",
            **to_canonical(fields, where, seen),
        }
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_canonical(dump(), where, seen)
    raise ConfigError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__} object, which has no "
        "stable encoding: use JSON-like data, a dataclass or a pydantic model (see "
        "paretext._canonical for the rule)"
    )


def canonical_text(value: Any) -> str:
    """Canonical JSON of data already passed through :func:`to_canonical`."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any, where: str = "value") -> str:
    """sha256 of the canonical encoding of ``value`` (lone surrogates kept, not refused)."""
    text = canonical_text(to_canonical(value, where))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
