"""The exception tree of paretext.

Every error that paretext raises on purpose derives from :class:`ParetextError`,
so callers can catch one class.  The tree::

    ParetextError
    ├── ConfigError (also ValueError)        bad input, raised before anything is spent
    ├── ProgramSignatureError (also TypeError)  a program or metric with the wrong shape
    ├── BudgetExhausted                       a reservation the ledger cannot pay
    ├── StoreError                            the run store is missing, corrupt or of another run
    ├── ReflectionParseError                  the reflection LM gave no usable text
    ├── EvaluationsFailed                     every one of the first evaluations failed
    └── LMError                               a language-model call failed
        ├── LMTransportError                  connection, timeout, 5xx: retryable
        │   └── LMRateLimitError              429, with ``retry_after``
        ├── LMAuthError                       401/403: never retried
        ├── LMBadRequestError                 other 4xx: never retried
        └── ContextWindowExceeded             the prompt does not fit: never retried

A failure on one example is data (``Rollout.error``), never an exception.
"""

from __future__ import annotations

__all__ = [
    "BudgetExhausted",
    "ConfigError",
    "ContextWindowExceeded",
    "EvaluationsFailed",
    "LMAuthError",
    "LMBadRequestError",
    "LMError",
    "LMRateLimitError",
    "LMTransportError",
    "ParetextError",
    "ProgramSignatureError",
    "ReflectionParseError",
    "StoreError",
]


class ParetextError(Exception):
    """Root of every error paretext raises on purpose."""


class ConfigError(ParetextError, ValueError):
    """Invalid configuration or input, detected before anything is spent."""


class ProgramSignatureError(ParetextError, TypeError):
    """A program or metric that cannot be called the way paretext needs."""


class BudgetExhausted(ParetextError):
    """The budget ledger cannot pay for a reservation."""


class StoreError(ParetextError):
    """The run store cannot be opened, is corrupt, or belongs to another run."""


class ReflectionParseError(ParetextError):
    """The reflection LM reply holds no usable new text."""

    def __init__(self, message: str, *, reply: str = "", candidate_id: str | None = None) -> None:
        super().__init__(message)
        self.reply = reply
        self.candidate_id = candidate_id


class EvaluationsFailed(ParetextError):
    """Every one of the first evaluations failed: the run stops instead of burning its budget."""

    def __init__(self, message: str, *, errors: list[str]) -> None:
        super().__init__(message)
        self.errors = errors


class LMError(ParetextError):
    """A language-model call failed.  Carries the model and, where known, the HTTP status."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.status = status
        self.request_id = request_id


class LMTransportError(LMError):
    """Connection failure, timeout or server error: worth retrying."""

    retryable = True


class LMRateLimitError(LMTransportError):
    """HTTP 429.  ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class LMAuthError(LMError):
    """Bad or missing credentials: retrying cannot help."""


class LMBadRequestError(LMError):
    """A request the provider refuses as malformed: retrying cannot help."""


class ContextWindowExceeded(LMBadRequestError):
    """The prompt does not fit the model's context window."""
