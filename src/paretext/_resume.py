"""Opening a run's store for one invocation: resume it, refuse a change, or start anew.

A stored run is resumed only when what decides its results is unchanged: the
data, the settings and the code (:mod:`paretext._identity`).  When the code
changed the run is refused, naming what changed, with three ways out:

* ``on_change="fresh"`` (``--fresh``): start over at the same path; the old
  store is kept beside it as ``run.<time>.sqlite``.
* ``branch=PATH`` (``--branch PATH``): a new run at ``PATH`` that starts from
  what still applies.  Every recorded LM call is copied: calls are keyed by the
  full request, so a step whose prompt is unchanged gets its recorded answer
  for free.  Recorded rollouts are copied only when the program, the metric
  and both data splits are unchanged (a rollout is the program's output scored
  by the metric on one example, so it holds exactly then).
* ``on_change="replay_anyway"`` (``--replay-anyway``): keep the recorded
  rollouts as if the new code had produced them; this rebuilds the run in place
  from them and records the new code.

Recorded *failed* rollouts are dropped, so retried, whenever the run is rebuilt
after a code change; ``retry_failures=True`` (``--retry-failures``) retries them
even when nothing changed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ._identity import describe_code_change
from .errors import ConfigError, StoreError
from .lm import ChatRequest
from .store import RunStore, SQLiteRunStore, open_store

__all__ = ["CodeChangedError", "OnChange", "open_run_store"]

OnChange = Literal["refuse", "fresh", "replay_anyway"]
_CHOICES = ("refuse", "fresh", "replay_anyway")


class CodeChangedError(StoreError):
    """The stored run was recorded by other code: replaying it would be silently stale."""


def open_run_store(
    run: str | Path | RunStore | None,
    fingerprint: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    on_change: OnChange = "refuse",
    branch: str | Path | None = None,
    retry_failures: bool = False,
    wait: bool = False,
) -> RunStore:
    """The store this invocation records into, opened (see the module docstring).

    ``wait`` queues behind another process writing the run instead of failing.
    """
    if on_change not in _CHOICES:
        raise ConfigError(f"on_change must be one of {', '.join(_CHOICES)}, got {on_change!r}")
    store = open_store(run)
    try:
        return _open(store, fingerprint, meta, on_change, branch, retry_failures, wait)
    except BaseException:
        if not isinstance(run, RunStore):
            store.close()
        raise


def _open(
    store: RunStore,
    fingerprint: Mapping[str, Any],
    meta: Mapping[str, Any],
    on_change: OnChange,
    branch: str | Path | None,
    retry_failures: bool,
    wait: bool,
) -> RunStore:
    stored = _stored_fingerprint(store)
    if branch is not None:
        return _branch(store, stored, branch, fingerprint, meta, retry_failures, wait)
    if stored is None:
        store.open_run(fingerprint, meta, wait=wait)
        return store
    store.claim(wait=wait)  # another process writing it is named first, whatever changed
    if on_change == "fresh":
        return _rebuild(store, stored, fingerprint, meta, reuse=False, wait=wait)
    _check_settings(store, stored, fingerprint)
    changed = _code_change(stored, fingerprint)
    if changed and on_change == "refuse":
        raise CodeChangedError(_refusal(store, changed))
    if changed or (retry_failures and any(r.failed for r in store.rollouts())):
        return _rebuild(store, stored, fingerprint, meta, reuse=True, wait=wait)
    store.open_run(fingerprint, meta, wait=wait)
    return store


def _check_settings(
    store: RunStore, stored: Mapping[str, Any], fingerprint: Mapping[str, Any]
) -> None:
    """Refuse other data or settings, naming the first difference (the code is checked apart)."""
    if _settings(stored) == _settings(fingerprint):
        return
    try:
        store.open_run({**fingerprint, "code": stored.get("code")}, {})
    except StoreError as exc:
        raise StoreError(
            f"{exc} (or --fresh / on_change='fresh' to start over there, --branch NEW_RUN / "
            "branch=NEW_RUN for a new run reusing its recorded LM calls)"
        ) from None
    raise AssertionError("open_run accepted a different fingerprint")  # pragma: no cover


def _code_change(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    if "code" not in stored:  # written before runs recorded their code: it cannot be checked
        return ["the program and the metric (not recorded by the paretext that wrote the run)"]
    return describe_code_change(_code(stored), _code(given))


def _stored_fingerprint(store: RunStore) -> Mapping[str, Any] | None:
    try:
        return store.info().fingerprint
    except StoreError:
        return None


def _code(fingerprint: Mapping[str, Any]) -> Mapping[str, Any]:
    code = fingerprint.get("code")
    return code if isinstance(code, Mapping) else {}


def _settings(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fingerprint.items() if k != "code"}


def _refusal(store: RunStore, changed: list[str]) -> str:
    where = store.location or "<memory>"
    what = " and ".join(changed)
    return (
        f"{what} changed since the run at {where} was recorded, so its recorded rollouts may "
        "no longer hold. Choose: --fresh (start over there; the old store is kept beside it), "
        "--branch NEW_RUN (a new run reusing every LM call whose request is unchanged), or "
        "--replay-anyway (keep the recorded rollouts; failed ones are retried). From Python: "
        "on_change='fresh', branch=NEW_RUN or on_change='replay_anyway'"
    )


def _sqlite_path(store: RunStore, action: str) -> Path:
    if not isinstance(store, SQLiteRunStore):
        raise ConfigError(f"{action} needs a run path (run='runs/NAME'), not a store object")
    return store.path


def _rebuild(
    store: RunStore,
    stored: Mapping[str, Any],
    fingerprint: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    reuse: bool,
    wait: bool,
) -> RunStore:
    """Start the run over at the same path; ``reuse`` copies its LM calls and good rollouts."""
    path = _sqlite_path(store, "starting a run over")
    location = store.location or str(path)
    store.close()
    archived = path.with_name(f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    n = 1
    while archived.exists():
        archived = archived.with_name(f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}-{n}.sqlite")
        n += 1
    for suffix in ("", "-wal", "-shm"):  # a store another process left open has these
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.rename(f"{archived}{suffix}")
    old = SQLiteRunStore(archived, create=False)
    new = SQLiteRunStore(location)
    try:
        if reuse:
            _copy(old, new, rollouts=True, failures=False)
    finally:
        old.close()
    new.open_run(fingerprint, {**dict(meta), "rebuilt_from": str(archived)}, wait=wait)
    return new


def _branch(
    source: RunStore,
    stored: Mapping[str, Any] | None,
    target_path: str | Path,
    fingerprint: Mapping[str, Any],
    meta: Mapping[str, Any],
    retry_failures: bool,
    wait: bool,
) -> RunStore:
    if stored is None:
        raise ConfigError(
            f"--branch needs a recorded run to start from; {source.location} has none"
        )
    target = open_store(target_path)
    if _stored_fingerprint(target) is not None:  # branched before: resume the branch
        source.close()
        target.open_run(fingerprint, meta, wait=wait)
        return target
    same = all(stored.get(k) == fingerprint.get(k) for k in ("train", "val")) and not (
        _code_change(stored, fingerprint)
    )
    try:
        _copy(source, target, rollouts=same, failures=same and not retry_failures)
    finally:
        source.close()
    target.open_run(fingerprint, {**dict(meta), "branched_from": source.location}, wait=wait)
    return target


def _copy(old: RunStore, new: RunStore, *, rollouts: bool, failures: bool) -> None:
    for call in old.lm_calls():
        new.put_lm_response(
            call.key, ChatRequest.from_json(call.request), call.response, role=call.role
        )
    if rollouts:
        for r in old.rollouts():
            if failures or r.error is None:
                new.put_rollout(r)

