"""kato_client: a typed Python client for the kato gRPC server (kato.v2).

Synchronous API: :class:`KatoClient` (sessions as context managers, observe, learn,
predictions, subscribe as an iterator). Asynchronous API on ``grpc.aio``:
:class:`kato_client.aio.AsyncKatoClient`, same shape with ``async``/``await``.
Failures raise :class:`KatoError` subclasses carrying the gRPC status code, the
server's reason, its trace id and any field violations.

The generated protobuf/grpc stubs live in ``kato_client._pb`` (regenerate with
``clients/python/regen.sh``); use them directly through ``KatoClient.channel`` if needed.
"""
from ._transport import DEFAULT_TARGET, TLSConfig
from .client import DefaultSession, KatoClient, ObserveStream, Session, SessionBase, Subscription
from .errors import (ERROR_DOMAIN, Cancelled, DeadlineExceeded, EmptySTM, FieldViolation, KatoError,
                     PatternNotFound, PermissionDenied, SessionEnded, SessionExpired, SessionLimitReached,
                     SessionNotFound, Unauthenticated, Unavailable, ValidationError)
from .types import (CognitionData, Events, FuturePotential, Observation, ObservationLike, ObserveResult, Pattern,
                    PerceptData, Prediction, Predictions, PredictionUpdate, SequenceResult, SessionConfig,
                    SessionInfo, StmMode, UpdateCause)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DEFAULT_TARGET",
    "TLSConfig",
    "KatoClient",
    "SessionBase",
    "Session",
    "DefaultSession",
    "Subscription",
    "ObserveStream",
    # errors
    "ERROR_DOMAIN",
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
    # values
    "Events",
    "StmMode",
    "UpdateCause",
    "SessionConfig",
    "Observation",
    "ObservationLike",
    "ObserveResult",
    "SequenceResult",
    "Prediction",
    "FuturePotential",
    "Predictions",
    "PredictionUpdate",
    "Pattern",
    "PerceptData",
    "CognitionData",
    "SessionInfo",
]
