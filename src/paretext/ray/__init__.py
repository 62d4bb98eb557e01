"""Run rollouts on a Ray cluster: ``optimize(..., executor=RayExecutor())``.

Needs the ``ray`` extra (``pip install 'paretext[ray]'``); Ray itself is
imported only when a :class:`RayExecutor` is made.
"""

from __future__ import annotations

from ._executor import ClusterLost, RayExecutor, RayExecutorError

__all__ = ["ClusterLost", "RayExecutor", "RayExecutorError"]
