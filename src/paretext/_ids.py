"""Identifier types and the content hash that keys the evaluation cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NewType

__all__ = ["CandidateId", "ExampleId", "canonical_json", "content_hash"]

CandidateId = NewType("CandidateId", str)
ExampleId = NewType("ExampleId", str)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal values hash equally."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )


def content_hash(components: Mapping[str, str]) -> str:
    """sha256 of a candidate's components: equal texts share cached evaluations."""
    text = canonical_json(dict(components)).encode("utf-8", "surrogatepass")  # LM text may hold any
    return hashlib.sha256(text).hexdigest()[:32]
