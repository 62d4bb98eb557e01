"""Shared pieces of the Ray tests: a small local Ray, and how workers import our test programs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ray_programs import NODE_OPTIONS


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A real local Ray with 2 CPUs for this module's tests, shut down after them."""
    import ray

    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, **NODE_OPTIONS
    )
    try:
        yield ray
    finally:
        ray.shutdown()
