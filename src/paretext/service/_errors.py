"""The service's errors: each maps to one HTTP status and carries a message for the client."""

from __future__ import annotations

from ..errors import ParetextError

__all__ = ["Conflict", "NotFound", "ServiceError", "Unauthorized"]


class ServiceError(ParetextError):
    status = 400
    code = "bad_request"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"
