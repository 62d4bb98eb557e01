"""RayExecutor: each rollout (program, then metric) runs as a named Ray task on a cluster.

Only *where* a rollout runs moves.  The engine, the planner, the budget
ledger and the run store stay in this process, so the same seed gives the same
result as in-process, the budget stays exact and a run resumes exactly.

Faults, from a rollout's point of view:

* the worker process (or its node) dies: Ray runs the task again on another
  worker, up to ``max_retries`` times; the engine sees one rollout, charged
  and recorded once.  A rollout that kills every worker it runs on becomes a
  failed rollout carrying that message, like any per-example failure.
* the cluster itself goes away (a Ray Client connection drops, or the cluster
  stops answering): :class:`ClusterLost` stops the run.  A process attached
  to a cluster node (``"auto"``, ``"host:port"``, a local Ray) is ended by Ray
  itself when that node goes away, as ``kill -9`` would.  Either way every
  rollout already finished is in the run store, and running again with the
  same ``run=`` path resumes from there, on this cluster or another one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._ids import ExampleId
from .._types import Example, Rollout
from ..engine import RolloutExecutor
from ..errors import ConfigError, ParetextError
from ..metric import Metric
from ..program import Pipeline, Program
from ._pickling import check_picklable
from ._worker import Payload, ready, rollout

if TYPE_CHECKING:
    from ray import ObjectRef

__all__ = ["ClusterLost", "RayExecutor", "RayExecutorError"]

T = TypeVar("T")

_TASK_RESOURCES = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "memory"}
_CONNECT_ATTEMPTS = 3
_UNLIMITED = 1024  # rollouts that reserve nothing: only the engine's concurrency limits them
#: Blocking Ray calls run on threads that live as long as the process: Ray ends a driver whose
#: ``ray.init`` thread exits (its object store connection goes with it), and a health probe
#: that hangs on a dead cluster must not hold up the others.
_RAY_THREAD = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="paretext-ray")
_PROBE_THREAD = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="paretext-ray-probe")
_OURS = frozenset({"name", "max_retries", "retry_exceptions", "runtime_env", "resources"})


def _ray() -> Any:
    """Ray, imported on first use; a missing extra is named where the user asked for Ray."""
    try:
        import ray
    except ImportError:
        raise ConfigError("RayExecutor needs Ray: pip install 'paretext[ray]'") from None
    return ray


class RayExecutorError(ParetextError):
    """Ray could not run rollouts.  The run stops; what it recorded is kept."""


class ClusterLost(RayExecutorError):
    """The Ray cluster went away mid-run.  Run again with the same ``run=`` path to resume."""


class RayExecutor(RolloutExecutor):
    """Run rollouts on a Ray cluster: ``optimize(..., executor=RayExecutor())``.

    ``address`` is handed to ``ray.init``: ``None`` (Ray's default: ``RAY_ADDRESS``,
    else the cluster last started on this machine, else a new local one),
    ``"auto"`` (an existing cluster on this machine), ``"ray://host:10001"``
    (Ray Client) or ``"host:6379"``.  When this process is already connected
    (``ray.init`` was called), that connection is used and left open; otherwise
    the executor connects at the start of the run and disconnects at its end.

    Each rollout is one Ray task named ``rollout <example> of <candidate>`` in
    the dashboard, reserving ``resources_per_rollout`` (``{"CPU": 1}`` by
    default; ``GPU``, ``memory`` and custom resources too).  At most
    ``max_in_flight`` run at once (default: as many as the cluster holds at
    start); the engine's ``EngineConfig.concurrency`` caps them as well, so
    raise it to fill a large cluster.  ``runtime_env`` is passed to each task
    (ship your code with ``{"working_dir": "."}``, dependencies with
    ``{"pip": [...]}``; paretext itself must be importable on the workers), and
    ``task_options`` are any other ``.options()`` of the task
    (``scheduling_strategy``, ``accelerator_type``, ...).  ``init_options`` go
    to ``ray.init`` when the executor connects.

    A worker that dies mid-rollout is replaced: Ray retries the task on
    another worker up to ``max_retries`` times.  ``health_check_s`` is how long
    a rollout may wait before the executor checks that the cluster still
    answers (and how long the check may take).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        resources_per_rollout: Mapping[str, float] | None = None,
        max_in_flight: int | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        max_retries: int = 3,
        task_options: Mapping[str, Any] | None = None,
        init_options: Mapping[str, Any] | None = None,
        health_check_s: float = 30.0,
    ) -> None:
        _ray()
        resources = dict({"CPU": 1.0} if resources_per_rollout is None else resources_per_rollout)
        for name, amount in resources.items():
            if not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
                raise ConfigError(
                    f"resources_per_rollout[{name!r}] must be a number >= 0, got {amount!r}"
                )
        if max_in_flight is not None and max_in_flight < 1:
            raise ConfigError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if health_check_s <= 0:
            raise ConfigError(f"health_check_s must be > 0, got {health_check_s}")
        clash = sorted(_OURS.intersection(task_options or {}).union(
            set(_TASK_RESOURCES.values()).intersection(task_options or {})
        ))
        if clash:
            raise ConfigError(
                f"task_options may not set {clash}: RayExecutor sets them "
                "(use resources_per_rollout, runtime_env and max_retries)"
            )
        self.address = address
        self.resources_per_rollout: Mapping[str, float] = resources
        self.max_in_flight = max_in_flight
        self.runtime_env = dict(runtime_env) if runtime_env is not None else None
        self.max_retries = max_retries
        self._task_options = dict(task_options or {})
        self._init_options = dict(init_options or {})
        self._health_check_s = health_check_s
        self._owns_connection = False
        self._box: list[ObjectRef[Payload]] | None = None
        self._rollout: Any = None
        self._slots: asyncio.Semaphore | None = None
        self._healthy_at = 0.0
        self._health_check: asyncio.Future[None] | None = None

    # -- the run ---------------------------------------------------------------
    async def start(
        self, program: Program, metric: Metric, examples: Mapping[ExampleId, Example]
    ) -> None:
        """Check the payload can travel, connect, put it in the object store, load it once."""
        if isinstance(program, Pipeline):
            raise ConfigError(
                "RayExecutor cannot run a ChatProgram/Pipeline: its LM calls would leave the "
                "run's task-LM cache and usage meter behind on this machine. Such a program "
                "spends its time waiting on the LM, which the default in-process executor "
                "already overlaps (raise EngineConfig.concurrency); use Ray for programs that "
                "compute"
            )
        await asyncio.to_thread(check_picklable, "program", program)
        await asyncio.to_thread(check_picklable, "metric", metric)
        await super().start(program, metric, examples)
        ray = _ray()
        await _on(_RAY_THREAD, self._connect)
        payload: Payload = (program, metric, dict(examples))
        try:
            self._box = [await _on(_RAY_THREAD, lambda: ray.put(payload))]
        except Exception as exc:
            raise ConfigError(f"the examples cannot be sent to Ray workers: {exc}") from exc
        self._rollout = ray.remote(rollout)
        slots = self.max_in_flight
        if slots is None:
            slots = await _on(_RAY_THREAD, self._capacity)
        self._slots = asyncio.Semaphore(slots)
        load = ray.remote(ready).options(**self._options("paretext: load the program"))
        try:
            await self._result(load.remote(self._box))
        except RayExecutorError as exc:
            raise ConfigError(
                f"a Ray worker cannot load the program: {exc}. Workers import the program's "
                "code by module name: install it there, or ship it with "
                "runtime_env={'working_dir': ...} or {'py_modules': [...]}"
            ) from exc

    async def run(
        self, components: Mapping[str, str], candidate_hash: str, example_id: ExampleId
    ) -> Rollout:
        if self._rollout is None or self._slots is None:
            raise RuntimeError("RayExecutor.run() before start()")
        ray = _ray()
        async with self._slots:
            task = self._rollout.options(
                **self._options(f"rollout {example_id} of {candidate_hash[:10]}")
            )
            ref = task.remote(self._box, dict(components), candidate_hash, example_id)
            try:
                rollout: Rollout = await self._result(ref)
            except _WorkerDied as died:
                message = (
                    f"the Ray worker running this rollout died {self.max_retries + 1} "
                    f"time(s) ({died})"
                )
                why = f"The program failed on this example: {message}"
                return Rollout(candidate_hash, example_id, None, (), 0.0, why, error=message)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                raise
            return rollout

    async def aclose(self) -> None:
        self._box = None
        self._rollout = None
        if self._owns_connection:
            self._owns_connection = False
            await _on(_RAY_THREAD, _ray().shutdown)

    # -- helpers -----------------------------------------------------------------
    def _connect(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            if self.address is not None:
                raise ConfigError(
                    f"this process is already connected to Ray, so RayExecutor cannot connect "
                    f"to {self.address!r}: pass address=None to use that connection, or call "
                    "ray.shutdown() first"
                )
            return
        for attempt in range(_CONNECT_ATTEMPTS):
            try:
                ray.init(address=self.address, **self._init_options)
                break
            except ConnectionError as exc:
                # Ray Client's server side sometimes dies as it starts (ray-project/ray#63202)
                if isinstance(exc, ConnectionAbortedError) and attempt + 1 < _CONNECT_ATTEMPTS:
                    ray.shutdown()
                    continue
                raise ConfigError(
                    f"cannot connect to the Ray cluster at {self.address!r}: {exc}"
                ) from exc
        self._owns_connection = True

    def _capacity(self) -> int:
        """How many rollouts the cluster can run at once now (at least one)."""
        total = _ray().cluster_resources()
        fits = [
            math.floor(total.get(name, 0.0) / need + 1e-9)
            for name, need in self.resources_per_rollout.items()
            if need > 0
        ]
        return max(1, min(fits)) if fits else _UNLIMITED

    def _options(self, name: str) -> dict[str, Any]:
        options: dict[str, Any] = {
            **self._task_options,
            "name": name,
            "max_retries": self.max_retries,
            "retry_exceptions": False,
        }
        custom: dict[str, float] = {}
        for resource, amount in self.resources_per_rollout.items():
            if resource in _TASK_RESOURCES:
                options[_TASK_RESOURCES[resource]] = amount
            else:
                custom[resource] = amount
        options.setdefault("num_cpus", 0)  # a rollout reserves exactly what it asks for
        if custom:
            options["resources"] = custom
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        return options

    async def _result(self, ref: ObjectRef[T]) -> T:
        """Wait for ``ref``, checking the cluster while it takes long; map Ray's failures."""
        exceptions = _ray().exceptions
        future = asyncio.wrap_future(ref.future())
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=self._health_check_s)
                if done:
                    return future.result()
                await self._check_health()
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError,
                exceptions.OutOfMemoryError, exceptions.ObjectLostError) as exc:
            await self._check_health(force=True)  # a dead cluster is not one rollout's fault
            raise _WorkerDied(_first_line(exc)) from exc
        except exceptions.RayTaskError as exc:  # before RaySystemError: it may be both
            cause = exc.cause if exc.cause is not None else exc
            raise RayExecutorError(f"{type(cause).__name__}: {_first_line(cause)}") from exc
        except (exceptions.LocalRayletDiedError, exceptions.RaySystemError,
                exceptions.RpcError, ConnectionError) as exc:
            raise self._lost(exc) from exc
        except exceptions.RayError as exc:
            raise RayExecutorError(f"{type(exc).__name__}: {_first_line(exc)}") from exc
        finally:
            future.cancel()

    async def _check_health(self, *, force: bool = False) -> None:
        """Raise :class:`ClusterLost` unless the cluster answers within ``health_check_s``.

        Concurrent callers share one check; a recent success counts unless ``force``.
        """
        if not force and time.monotonic() - self._healthy_at < self._health_check_s:
            return
        if self._health_check is None or self._health_check.done():
            self._health_check = asyncio.ensure_future(self._probe())
        await asyncio.shield(self._health_check)

    async def _probe(self) -> None:
        ray = _ray()
        try:
            probe = _on(_PROBE_THREAD, ray.cluster_resources)
            await asyncio.wait_for(probe, self._health_check_s)
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise self._lost(f"it did not answer within {self._health_check_s:g} s") from exc
        except Exception as exc:
            raise self._lost(exc) from exc
        self._healthy_at = time.monotonic()

    def _lost(self, why: BaseException | str) -> ClusterLost:
        where = f" at {self.address}" if self.address else ""
        reason = why if isinstance(why, str) else f"{type(why).__name__}: {_first_line(why)}"
        return ClusterLost(
            f"the Ray cluster{where} went away while rollouts were running ({reason}). The run "
            "stopped; every rollout it finished is recorded: run it again with the same run= "
            "path (`paretext resume RUN`) to continue from there"
        )


class _WorkerDied(Exception):
    """Every worker that ran this rollout died (after Ray's retries)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _on(thread: concurrent.futures.ThreadPoolExecutor, fn: Callable[[], T]) -> asyncio.Future[T]:
    """``fn()`` on one of this module's long-lived threads, awaited without blocking the loop."""
    return asyncio.get_running_loop().run_in_executor(thread, fn)
