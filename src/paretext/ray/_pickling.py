"""Before anything is spent: can the program and the metric travel to Ray workers?

Ray pickles them (cloudpickle: functions and classes of importable modules by
name, others by value with what they reference).  Ray's own checker,
``ray.util.inspect_serializability``, walks the object to find what fails,
so the error names it instead of showing a pickling traceback mid-run.
"""

from __future__ import annotations

import io

from ..errors import ConfigError

__all__ = ["check_picklable"]


def check_picklable(what: str, obj: object) -> None:
    """Raise :class:`ConfigError` naming what in ``obj`` cannot be pickled."""
    from ray.util import inspect_serializability

    ok, failures = inspect_serializability(obj, name=what, print_file=io.StringIO())
    if ok:
        return
    found = sorted(
        f"{' -> '.join(str(p) for p in f.path)} (a {type(f.obj).__name__}"
        + (f", used by {_name(f.parent)})" if f.parent is not None else ")")
        for f in failures
    ) or [what]
    raise ConfigError(
        f"the {what} cannot be sent to Ray workers: {'; '.join(found)} cannot be pickled. "
        "Create such objects inside the function that uses them (once per worker, e.g. "
        "behind functools.cache), or make them picklable"
    )


def _name(obj: object) -> str:
    return str(getattr(obj, "__qualname__", None) or type(obj).__name__)
