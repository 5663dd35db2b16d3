"""Exceptions raised by the kato client.

Every failed call raises a :class:`KatoError` (or a subclass). It carries what the
server reported:

* ``code`` -- the gRPC status code (:class:`grpc.StatusCode`);
* ``reason`` -- the ``google.rpc.ErrorInfo`` reason (``"SESSION_NOT_FOUND"``, ...),
  or ``None`` when the status had no ErrorInfo (e.g. the server could not be reached);
* ``trace_id`` -- the server's trace id of the call (ErrorInfo metadata ``trace_id``,
  else the ``x-trace-id`` trailer), for finding the call in the server's logs;
* ``message`` -- the status message;
* ``field_violations`` -- the ``google.rpc.BadRequest`` field violations of a
  validation error, as :class:`FieldViolation` (field path, description).

The subclass is chosen by the reason (falling back on the status code), so callers can
``except SessionNotFound:`` without looking at strings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Type

import grpc

from ._pb.google.rpc import error_details_pb2, status_pb2

__all__ = [
    "FieldViolation",
    "KatoError",
    "SessionNotFound",
    "SessionExpired",
    "SessionEnded",
    "PatternNotFound",
    "ValidationError",
    "EmptySTM",
    "SessionLimitReached",
    "DeadlineExceeded",
    "Cancelled",
    "Unavailable",
    "Unauthenticated",
    "PermissionDenied",
    "ERROR_DOMAIN",
]

#: The ErrorInfo domain of every error the kato server reports.
ERROR_DOMAIN = "kato.v2"

_DETAILS_KEY = "grpc-status-details-bin"
_TRACE_KEY = "x-trace-id"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field, from ``google.rpc.BadRequest``.

    ``field`` is a path into the request such as ``"config.persistence"`` or
    ``"vectors[0][1]"``; ``description`` says what is wrong with it.
    """

    field: str
    description: str


class KatoError(Exception):
    """A failed kato call: gRPC status code, ErrorInfo reason, trace id, message, field violations."""

    code: grpc.StatusCode
    reason: Optional[str]
    trace_id: Optional[str]
    message: str
    field_violations: Tuple[FieldViolation, ...]
    domain: Optional[str]
    metadata: Dict[str, str]

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        reason: Optional[str] = None,
        trace_id: Optional[str] = None,
        field_violations: Tuple[FieldViolation, ...] = (),
        domain: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.trace_id = trace_id
        self.message = message
        self.field_violations = tuple(field_violations)
        self.domain = domain
        self.metadata = dict(metadata or {})

    def __str__(self) -> str:
        head = self.code.name
        if self.reason and self.reason != self.code.name:
            head += f" {self.reason}"
        text = f"{head}: {self.message}"
        if self.trace_id:
            text += f" (trace_id={self.trace_id})"
        return text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, "
                f"trace_id={self.trace_id!r}, message={self.message!r}, "
                f"field_violations={list(self.field_violations)!r})")

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "KatoError":
        """The :class:`KatoError` subclass for a ``grpc.RpcError`` (sync or ``grpc.aio``)."""
        code = _call(error, "code") or grpc.StatusCode.UNKNOWN
        message = _call(error, "details") or ""
        trailing = _metadata_pairs(_call(error, "trailing_metadata"))
        reason = domain = trace_id = None
        info_metadata: Dict[str, str] = {}
        violations: Tuple[FieldViolation, ...] = ()
        raw = trailing.get(_DETAILS_KEY)
        if isinstance(raw, bytes):
            try:
                status = status_pb2.Status.FromString(raw)
            except Exception:  # a malformed details trailer must not hide the real error
                status = None
            if status is not None:
                if status.message and not message:
                    message = status.message
                for detail in status.details:
                    type_name = detail.TypeName()
                    if type_name == error_details_pb2.ErrorInfo.DESCRIPTOR.full_name:
                        info = error_details_pb2.ErrorInfo()
                        detail.Unpack(info)
                        reason, domain = info.reason or None, info.domain or None
                        info_metadata = dict(info.metadata)
                    elif type_name == error_details_pb2.BadRequest.DESCRIPTOR.full_name:
                        bad = error_details_pb2.BadRequest()
                        detail.Unpack(bad)
                        violations = tuple(FieldViolation(v.field, v.description) for v in bad.field_violations)
        trace_id = info_metadata.get("trace_id") or _text(trailing.get(_TRACE_KEY)) or None
        subclass = _BY_REASON.get(reason or "") or _BY_CODE.get(code) or KatoError
        return subclass(message, code=code, reason=reason, trace_id=trace_id, field_violations=violations,
                        domain=domain, metadata=info_metadata)


class SessionNotFound(KatoError):
    """The session does not exist (``SESSION_NOT_FOUND``); base of the other "session is gone" errors."""


class SessionExpired(SessionNotFound):
    """The session existed but its TTL ran out (``SESSION_EXPIRED``)."""


class SessionEnded(SessionNotFound):
    """A prediction subscription ended because its session was deleted or expired (``SESSION_ENDED``)."""


class PatternNotFound(KatoError):
    """No pattern of that name in the node's knowledge base (``PATTERN_NOT_FOUND``)."""


class ValidationError(KatoError):
    """The request was invalid (``VALIDATION_ERROR`` / ``INVALID_ARGUMENT``); see ``field_violations``."""


class EmptySTM(KatoError):
    """``learn()`` on an empty short-term memory (``EMPTY_STM``, FAILED_PRECONDITION)."""


class SessionLimitReached(KatoError):
    """The server's session limit was reached (``SESSION_LIMIT``, RESOURCE_EXHAUSTED)."""


class DeadlineExceeded(KatoError):
    """The call's deadline passed (DEADLINE_EXCEEDED); the server changed nothing."""


class Cancelled(KatoError):
    """The call was cancelled (CANCELLED)."""


class Unavailable(KatoError):
    """The server could not be reached or is shutting down / degraded (UNAVAILABLE)."""


class Unauthenticated(KatoError):
    """Missing or wrong credentials (UNAUTHENTICATED)."""


class PermissionDenied(KatoError):
    """The credentials do not allow the call (PERMISSION_DENIED)."""


_BY_REASON: Dict[str, Type[KatoError]] = {
    "SESSION_NOT_FOUND": SessionNotFound,
    "SESSION_EXPIRED": SessionExpired,
    "SESSION_ENDED": SessionEnded,
    "PATTERN_NOT_FOUND": PatternNotFound,
    "VALIDATION_ERROR": ValidationError,
    "EMPTY_STM": EmptySTM,
    "SESSION_LIMIT": SessionLimitReached,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "CANCELLED": Cancelled,
}

_BY_CODE: Dict[grpc.StatusCode, Type[KatoError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: ValidationError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
}


def _call(obj: Any, name: str) -> Any:
    fn = getattr(obj, name, None)
    if fn is None:
        return None
    try:
        return fn()
    except Exception:
        return None


def _metadata_pairs(metadata: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if not metadata:
        return out
    for item in metadata:
        key, value = item[0], item[1]
        out.setdefault(key, value)
    return out


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
