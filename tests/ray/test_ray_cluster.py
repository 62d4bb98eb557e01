"""RayExecutor on a real two-node cluster on this machine (``ray.cluster_utils.Cluster``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ray_programs import NODE_OPTIONS, WORKER_ENV, ChaosProgram, attempts

import paretext as pt
from paretext.ray import RayExecutor
from paretext.testing import RuleWorld

pytestmark = pytest.mark.slow

WORLD = RuleWorld(n=24, categories=6)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import ray
    from ray.cluster_utils import Cluster

    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, **NODE_OPTIONS},
    )
    nodes.add_node(num_cpus=1, **NODE_OPTIONS)
    ray.init(address=nodes.address, log_to_driver=False)
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def spread(**kw: Any) -> RayExecutor:
    """Rollouts spread over the nodes (``task_options`` go to each task's ``.options()``)."""
    return RayExecutor(runtime_env=WORKER_ENV, task_options={"scheduling_strategy": "SPREAD"}, **kw)


def optimize(executor: Any = None, program: Any = None) -> tuple[pt.Result, pt.InMemoryRunStore]:
    store = pt.InMemoryRunStore()
    result = WORLD.optimize(
        train=8,
        budget=200,
        program=program,
        run=store,
        engine=pt.EngineConfig(concurrency=4),
        executor=executor,
    )
    return result, store


def test_rollouts_spread_over_both_nodes_with_the_in_process_result(
    cluster: Any, tmp_path: Path
) -> None:
    reference, _ = optimize()
    chaos = ChaosProgram(WORLD, str(tmp_path), delay=0.02)  # so that two run at once
    result, store = optimize(spread(), chaos)
    assert result.candidates == reference.candidates
    assert result.proposals == reference.proposals
    assert result.rollouts_used == reference.rollouts_used == len(store.rollouts())
    assert len({a.node for a in attempts(tmp_path)}) == 2


def test_a_node_that_dies_mid_run_costs_nothing_but_time(cluster: Any, tmp_path: Path) -> None:
    """The second node dies with a rollout on it: that rollout runs again on the head node."""
    reference, _ = optimize()
    node = next(iter(cluster.worker_nodes))
    held = ChaosProgram(WORLD, str(tmp_path), hold_node=node.node_id, hold_s=60.0, delay=0.02)
    removed = threading.Event()

    def remove_when_held() -> None:
        deadline = time.monotonic() + 120
        while not (tmp_path / "held").exists():
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        cluster.remove_node(node, allow_graceful=False)
        removed.set()

    remover = threading.Thread(target=remove_when_held, daemon=True)
    remover.start()
    result, store = optimize(spread(), held)
    assert removed.is_set()
    assert result.candidates == reference.candidates
    assert result.proposals == reference.proposals
    recorded = store.rollouts()
    assert len(recorded) == result.rollouts_used == reference.rollouts_used
    assert not [r for r in recorded if r.failed]
    seen = attempts(tmp_path)
    cut = [a.key for a in seen if a.node == node.node_id][-1]  # its last attempt there
    assert [a.node for a in seen if a.key == cut] == [node.node_id, cluster.head_node.node_id]
