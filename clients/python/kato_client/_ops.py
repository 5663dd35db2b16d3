"""Request building and response conversion shared by the sync and async clients.

Each function returns an :class:`Op`: which stub and method to call, the request, and how
to turn the response into a client value. The clients only add transport (timeouts,
metadata, error conversion), so both stay in step with one table.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import (Any, AsyncIterator, Callable, Generic, Iterable, Iterator, List, Mapping, Optional, Tuple, TypeVar,
                    Union)

import grpc

from ._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2
from .types import (CognitionData, Events, FuturePotential, Observation, ObservationLike, ObserveResult, Pattern, PerceptData, Prediction,
                    Predictions, SequenceResult, SessionConfig, SessionInfo, _events, _struct)

T = TypeVar("T")

SESSIONS, OBSERVE, PREDICT = "sessions", "observe", "predict"

ConfigLike = Union[SessionConfig, Mapping[str, Any], None]


@dataclass(frozen=True)
class Op(Generic[T]):
    """One unary call: stub (``service``), ``method``, ``request``, and ``convert`` for the response."""

    service: str
    method: str
    request: Any
    convert: Callable[[Any], T]


def _none(_: Any) -> None:
    return None


def _count(response: Any) -> int:
    return int(response.count)


def _stm(response: Any) -> Events:
    return _events(response.events)


def _pattern_name(response: Any) -> str:
    return str(response.pattern_name)


def same(p: Predictions) -> Predictions:
    return p


def only_predictions(p: Predictions) -> List[Prediction]:
    return p.predictions


def only_futures(p: Predictions) -> List[FuturePotential]:
    return p.future_potentials


# ----------------------------------------------------------------------------- sessions

def create_session(node_id: str, ttl_seconds: int, config: ConfigLike,
                   metadata: Optional[Mapping[str, Any]]) -> Op[SessionInfo]:
    req = session_pb2.CreateSessionRequest(node_id=node_id, ttl_seconds=ttl_seconds)
    if config is not None:
        req.config.CopyFrom(SessionConfig.coerce(config).to_pb())
    struct = _struct(metadata)
    if struct is not None:
        req.metadata.CopyFrom(struct)
    return Op(SESSIONS, "CreateSession", req, SessionInfo.from_pb)


def get_session(session_id: str) -> Op[SessionInfo]:
    return Op(SESSIONS, "GetSession", session_pb2.GetSessionRequest(session_id=session_id), SessionInfo.from_pb)


def extend_session(session_id: str, ttl_seconds: int) -> Op[SessionInfo]:
    return Op(SESSIONS, "ExtendSession", session_pb2.ExtendSessionRequest(session_id=session_id, ttl_seconds=ttl_seconds),
              SessionInfo.from_pb)


def delete_session(session_id: str) -> Op[None]:
    return Op(SESSIONS, "DeleteSession", session_pb2.DeleteSessionRequest(session_id=session_id), _none)


def update_config(session_id: str, config: ConfigLike, genes: Mapping[str, Any]) -> Op[SessionInfo]:
    cfg = SessionConfig.coerce(config, **genes).to_pb()
    return Op(SESSIONS, "UpdateSessionConfig",
              session_pb2.UpdateSessionConfigRequest(session_id=session_id, config=cfg), SessionInfo.from_pb)


def count_sessions(node_id: Optional[str]) -> Op[int]:
    return Op(SESSIONS, "CountSessions", session_pb2.CountSessionsRequest(node_id=node_id or ""), _count)


# ----------------------------------------------------------------------------- observe

def observe(sid: str, node: str, obs: Observation) -> Op[ObserveResult]:
    return Op(OBSERVE, "Observe", obs.to_request(sid, node), ObserveResult.from_pb)


def observe_sequence(sid: str, node: str, observations: Iterable[ObservationLike], learn_after_each: bool,
                     learn_at_end: bool, clear_stm_between: bool) -> Op[SequenceResult]:
    req = observe_pb2.ObserveSequenceRequest(
        session_id=sid, node_id=node, observations=[Observation.coerce(o).to_pb() for o in observations],
        learn_after_each=learn_after_each, learn_at_end=learn_at_end, clear_stm_between=clear_stm_between)
    return Op(OBSERVE, "ObserveSequence", req, SequenceResult.from_pb)


def stream_request(sid: str, node: str, obs: ObservationLike) -> observe_pb2.ObserveRequest:
    return Observation.coerce(obs).to_request(sid, node)


class StreamRequests:
    """Turns the caller's observations into ObserveRequests for a stream and remembers an
    exception raised while producing them, so the stream re-raises it instead of grpc's
    generic "Exception iterating requests!"."""

    def __init__(self, sid: str, node: str, source: Any) -> None:
        self.sid, self.node, self.source = sid, node, source
        self.error: Optional[BaseException] = None

    def sync(self) -> Iterator[observe_pb2.ObserveRequest]:
        try:
            for obs in self.source:
                yield stream_request(self.sid, self.node, obs)
        except Exception as e:
            self.error = e
            raise

    async def asynchronous(self) -> AsyncIterator[observe_pb2.ObserveRequest]:
        try:
            if hasattr(self.source, "__aiter__"):
                async for obs in self.source:
                    yield stream_request(self.sid, self.node, obs)
            else:
                for obs in self.source:
                    yield stream_request(self.sid, self.node, obs)
        except Exception as e:
            self.error = e
            raise


def stm(sid: str, node: str) -> Op[Events]:
    return Op(OBSERVE, "GetShortTermMemory", observe_pb2.GetShortTermMemoryRequest(session_id=sid, node_id=node),
              _stm)


def clear_stm(sid: str, node: str) -> Op[None]:
    return Op(OBSERVE, "ClearShortTermMemory", observe_pb2.ClearShortTermMemoryRequest(session_id=sid, node_id=node),
              _none)


def learn(sid: str, node: str) -> Op[str]:
    return Op(OBSERVE, "Learn", observe_pb2.LearnRequest(session_id=sid, node_id=node), _pattern_name)


def clear_all(sid: str, node: str) -> Op[None]:
    return Op(OBSERVE, "ClearAllMemory", observe_pb2.ClearAllMemoryRequest(session_id=sid, node_id=node), _none)


# ----------------------------------------------------------------------------- predict

def get_predictions(sid: str, node: str, convert: Callable[[Predictions], T]) -> Op[T]:
    return Op(PREDICT, "GetPredictions", predict_pb2.GetPredictionsRequest(session_id=sid, node_id=node),
              lambda r: convert(Predictions.from_pb(r)))


def pattern(sid: str, node: str, name: str) -> Op[Pattern]:
    return Op(PREDICT, "GetPattern", predict_pb2.GetPatternRequest(session_id=sid, node_id=node, name=name),
              Pattern.from_pb)


def percept_data(sid: str, node: str) -> Op[PerceptData]:
    return Op(PREDICT, "GetPerceptData", predict_pb2.GetPerceptDataRequest(session_id=sid, node_id=node),
              PerceptData.from_pb)


def cognition_data(sid: str, node: str) -> Op[CognitionData]:
    return Op(PREDICT, "GetCognitionData", predict_pb2.GetCognitionDataRequest(session_id=sid, node_id=node),
              CognitionData.from_pb)


def subscribe_request(sid: str, node: str, send_initial: bool,
                      resume_after: Optional[int] = None) -> predict_pb2.SubscribePredictionsRequest:
    """``resume_after`` set (0 included: a new session's initial state): a resume; None: a new subscription."""
    request = predict_pb2.SubscribePredictionsRequest(session_id=sid, node_id=node, send_initial=send_initial)
    if resume_after is not None:
        request.resume_after_sequence = resume_after
    return request


class Resumption:
    """What a subscription needs to resume after its server went away (UNAVAILABLE: the replica
    died or is draining; through a load balancer the new call reaches another replica): the last
    sequence seen, how many attempts are left, and the request of the next attempt."""

    #: How long a subscription keeps trying after its first failure in a row. Long enough to ride
    #: out a replica's restart or a PostgreSQL outage (the replicas' breaker reopens within
    #: seconds of its return), short enough that a gone deployment surfaces as an error.
    RESUME_FOR = 30.0

    def __init__(self, sid: str, node: str, send_initial: bool, resume_for: float = RESUME_FOR,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sid, self.node, self.send_initial = sid, node, send_initial
        self.resume_for, self._clock = resume_for, clock
        self._failing_since: Optional[float] = None
        self.last: Optional[int] = None
        # The state at subscription is always asked for (first_request) and shown only if the
        # caller asked: its sequence is where a resume starts when the server dies before any
        # other update arrived (resubscribing from nothing would leave a silent hole).
        self.hide_initial = not send_initial
        self.failures = 0
        self.resumed = 0

    def first_request(self) -> predict_pb2.SubscribePredictionsRequest:
        return subscribe_request(self.sid, self.node, True)

    @staticmethod
    def resumable(error: Any) -> bool:
        """UNAVAILABLE (the replica died or drains), or UNKNOWN: a stream a load balancer ended
        without a gRPC status when its replica died (kato itself always sends one)."""
        return error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN)

    def seen(self, update: Any) -> bool:
        """Records an update; False for one already seen before a resume, or the state at
        subscription the caller did not ask for (skip it)."""
        if self.hide_initial and self.last is None and update.cause == predict_pb2.UPDATE_CAUSE_INITIAL:
            self.hide_initial = False
            self.last = update.sequence
            self._recovered()
            return False
        fresh = self.last is None or update.sequence > self.last or update.cause in (
            predict_pb2.UPDATE_CAUSE_INITIAL, predict_pb2.UPDATE_CAUSE_GAP)
        if fresh:
            self.last = update.sequence
            self._recovered()
        return fresh

    def _recovered(self) -> None:
        self.failures = 0
        self._failing_since = None

    def next_request(self) -> Optional[predict_pb2.SubscribePredictionsRequest]:
        """The request that resumes, or None once ``resume_for`` seconds passed since the first
        failure in a row (an update received in between starts the count again)."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        elif now - self._failing_since >= self.resume_for:
            return None
        self.failures += 1
        self.resumed += 1
        if self.last is None:  # nothing seen yet: subscribe again as at first
            return self.first_request()
        return subscribe_request(self.sid, self.node, False, resume_after=self.last)

    def backoff(self) -> float:
        """0.1 s doubling to at most 2 s, with jitter so that a replica's subscribers do not all
        come back to the next one in the same instant."""
        return min(2.0, 0.1 * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)


# ----------------------------------------------------------------------------- health (grpc.health.v1, hand-encoded)

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def health_request(service: str) -> bytes:
    """``grpc.health.v1.HealthCheckRequest{service}`` (field 1, string)."""
    data = service.encode("utf-8")
    return (b"\x0a" + _varint(len(data)) + data) if data else b""


def health_status(raw: bytes) -> str:
    """The status name of a ``grpc.health.v1.HealthCheckResponse`` (field 1, enum)."""
    i, status = 0, 0
    while i < len(raw):
        key, i = _read_varint(raw, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(raw, i)
            if field == 1:
                status = value
        elif wire == 2:
            n, i = _read_varint(raw, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("malformed HealthCheckResponse")
    return HEALTH_STATUSES.get(status, str(status))


def _read_varint(raw: bytes, i: int) -> Tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(raw):
            raise ValueError("truncated varint")
        b = raw[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i

