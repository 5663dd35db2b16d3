"""The synchronous kato client.

>>> from kato_client import KatoClient
>>> with KatoClient("127.0.0.1:50051") as client:
...     with client.session(node_id="demo") as s:
...         for word in ("wake", "coffee", "email"):
...             s.observe(strings=[word])
...         name = s.learn()
...         s.observe(strings=["wake"])
...         s.observe(strings=["coffee"])              # KATO predicts from two symbols on
...         print(s.predictions()[0].future)        # [['email']]

Every call raises :class:`~kato_client.errors.KatoError` (or a subclass) on failure.
"""
from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Callable, Dict, Generic, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar

import grpc

from . import _ops
from ._ops import ConfigLike, Op
from ._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc
from ._transport import DEFAULT_TARGET, Metadata, TLSConfig, TLSLike, call_metadata, channel_settings
from .errors import KatoError, SessionNotFound, Unavailable
from .types import (CognitionData, Events, FuturePotential, Observation, ObservationLike, ObserveResult, Pattern,
                    PerceptData, Prediction, Predictions, PredictionUpdate, SequenceResult, SessionInfo)

__all__ = ["KatoClient", "SessionBase", "Session", "DefaultSession", "Subscription", "ObserveStream", "TLSConfig"]

T = TypeVar("T")

_UNSET: Any = object()


class KatoClient:
    """A connection to a kato server.

    :param target: ``host:port`` of the server.
    :param api_key: sent with every call as ``authorization: Bearer <api_key>``.
    :param tls: ``None`` for plaintext, ``True`` for TLS with the system roots, or a
        :class:`TLSConfig` (own CA, client certificate for mTLS, server name override).
    :param timeout: default deadline in seconds of every unary call (``None``: no deadline).
        Streams (``subscribe``, ``observe_stream``) take their own ``timeout``.
    :param metadata: extra ``(key, value)`` pairs sent with every call (keys lower case).
    :param options: extra grpc channel options, e.g. ``[("grpc.max_receive_message_length", -1)]``.

    The client is thread-safe and is a context manager that closes its channel.
    """

    def __init__(self, target: str = DEFAULT_TARGET, api_key: Optional[str] = None, tls: TLSLike = None,
                 timeout: Optional[float] = None, metadata: Metadata = (),
                 options: Sequence[Tuple[str, Any]] = ()) -> None:
        credentials, opts = channel_settings(tls, options)
        self.target = target
        self.timeout = timeout
        self._metadata = call_metadata(api_key, metadata)
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=opts)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=opts)
        self._stubs: Dict[str, Any] = {
            _ops.SESSIONS: session_pb2_grpc.SessionServiceStub(self._channel),
            _ops.OBSERVE: observe_pb2_grpc.ObserveServiceStub(self._channel),
            _ops.PREDICT: predict_pb2_grpc.PredictServiceStub(self._channel),
        }
        self._health = self._channel.unary_unary(_ops.HEALTH_CHECK, request_serializer=None,
                                                 response_deserializer=None)

    # ------------------------------------------------------------------ plumbing

    @property
    def channel(self) -> grpc.Channel:
        """The underlying grpc channel (for calling the generated stubs directly)."""
        return self._channel

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is _UNSET else timeout

    def _run(self, op: Op[T], timeout: Optional[float] = _UNSET) -> T:
        method = getattr(self._stubs[op.service], op.method)
        try:
            response = method(op.request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise KatoError.from_rpc_error(e) from e
        return op.convert(response)

    def _stream(self, service: str, method: str, request: Any, timeout: Optional[float]) -> Any:
        return getattr(self._stubs[service], method)(request, timeout=timeout, metadata=self._metadata)

    # ------------------------------------------------------------------ sessions

    def session(self, node_id: str, ttl_seconds: int = 0, config: ConfigLike = None,
                metadata: Optional[Mapping[str, Any]] = None) -> "Session":
        """Creates a session on ``node_id`` and returns it.

        :param ttl_seconds: sliding time-to-live; 0 = the server default (3600 s).
        :param config: engine configuration overrides: a :class:`~kato_client.SessionConfig`
            or a dict of gene names, e.g. ``{"max_pattern_length": 3}``.
        :param metadata: JSON-like caller metadata kept with the session.

        Use it as a context manager to delete the session on exit::

            with client.session("node-1") as s:
                s.observe(strings=["a"])
        """
        info = self._run(_ops.create_session(node_id, ttl_seconds, config, metadata))
        return Session(self, info, delete_on_exit=True)

    def attach(self, session_id: str, delete_on_exit: bool = False) -> "Session":
        """A :class:`Session` object for an existing session (checked with GetSession).

        By default leaving its ``with`` block does not delete it (someone else owns it)."""
        return Session(self, self._run(_ops.get_session(session_id)), delete_on_exit=delete_on_exit)

    def default_session(self, node_id: str = "default") -> "DefaultSession":
        """The default session of ``node_id`` (KATO v1-style calls without a session id).

        It always exists, is owned by the node, and has no TTL, config update or delete."""
        return DefaultSession(self, node_id)

    def get_session(self, session_id: str) -> SessionInfo:
        """Describes a session (and refreshes its sliding expiry)."""
        return self._run(_ops.get_session(session_id))

    def delete_session(self, session_id: str) -> None:
        """Deletes a session by id; its prediction subscriptions end with ``SessionEnded``."""
        self._run(_ops.delete_session(session_id))

    def count_sessions(self, node_id: Optional[str] = None) -> int:
        """Live sessions on the server, or on ``node_id`` (default sessions are not counted)."""
        return self._run(_ops.count_sessions(node_id))

    # ------------------------------------------------------------------ server

    def health(self, service: str = "", timeout: Optional[float] = _UNSET) -> str:
        """The grpc.health.v1 status of ``service`` ("" = the whole server):
        ``"SERVING"``, ``"NOT_SERVING"``, ``"SERVICE_UNKNOWN"`` or ``"UNKNOWN"``."""
        try:
            raw = self._health(_ops.health_request(service), timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise KatoError.from_rpc_error(e) from e
        return _ops.health_status(raw)

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Blocks until the channel is connected; raises :class:`~kato_client.errors.Unavailable` after ``timeout``."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"{self.target} not ready after {timeout} s", code=grpc.StatusCode.UNAVAILABLE) from None

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> "KatoClient":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KatoClient({self.target!r})"


class _StreamIterator(Generic[T]):
    """An iterator over a server stream. ``close()`` (or leaving a ``with`` block) cancels the
    call and ends the iteration quietly; any other failure raises :class:`KatoError`."""

    def __init__(self, call: Any, convert: Callable[[Any], T], requests: Optional[_ops.StreamRequests] = None) -> None:
        self._call = call
        self._convert = convert
        self._requests = requests
        self._closed = threading.Event()
        self._done = False

    def __iter__(self) -> "_StreamIterator[T]":
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            message = next(self._call)
        except StopIteration:
            self._done = True
            raise
        except grpc.RpcError as e:
            self._done = True
            if self._closed.is_set() and e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            if self._requests is not None and self._requests.error is not None:
                raise self._requests.error from e
            raise KatoError.from_rpc_error(e) from e
        return self._convert(message)

    def close(self) -> None:
        """Cancels the call (safe from any thread, idempotent)."""
        self._closed.set()
        self._call.cancel()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def trace_id(self) -> Optional[str]:
        """The server's trace id of the call (``x-trace-id`` trailer); blocks until the call ends."""
        for key, value in self._call.trailing_metadata() or ():
            if key == "x-trace-id":
                return value if isinstance(value, str) else value.decode()
        return None

    def __enter__(self) -> "_StreamIterator[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._done:
                self._call.cancel()
        except Exception:
            pass


class Subscription(_StreamIterator[PredictionUpdate]):
    """Iterator of :class:`~kato_client.PredictionUpdate`, one per change of the session's STM.

    Ends with :class:`~kato_client.errors.SessionEnded` when the session is deleted or expires;
    ``close()`` ends it quietly (e.g. from another thread). When the server goes away
    (UNAVAILABLE: its replica died or is draining) it resumes by itself after the last sequence
    it yielded (``resume_after_sequence``; through a load balancer, on another replica): the
    updates missed meanwhile follow in order, or one update with cause ``GAP`` carrying the
    state now when the server no longer keeps them. ``resumed`` counts the resumptions."""

    def __init__(self, call: Any, convert: Callable[[Any], PredictionUpdate],
                 reopen: Optional[Callable[[Any], Any]] = None, resumption: Optional[_ops.Resumption] = None) -> None:
        super().__init__(call, lambda m: m)
        self._to_update = convert
        self._reopen = reopen
        self._resumption = resumption

    @property
    def resumed(self) -> int:
        return self._resumption.resumed if self._resumption else 0

    def __next__(self) -> PredictionUpdate:
        while True:
            try:
                message = super().__next__()
            except KatoError as e:
                request = None
                if _ops.Resumption.resumable(e) and self._reopen is not None and self._resumption is not None \
                        and not self._closed.is_set():
                    request = self._resumption.next_request()
                if request is None:
                    raise
                time.sleep(self._resumption.backoff())
                self._call, self._done = self._reopen(request), False
                if self._closed.is_set():
                    self._call.cancel()
                continue
            if self._resumption is None or self._resumption.seen(message):
                return self._to_update(message)


class ObserveStream(_StreamIterator[ObserveResult]):
    """Iterator of :class:`~kato_client.ObserveResult`, one acknowledgement per observation sent, in order."""


class SessionBase:
    """Operations shared by created sessions and node default sessions."""

    def __init__(self, client: KatoClient, session_id: str, node_id: str) -> None:
        self._client = client
        self._sid = session_id
        self._node = node_id

    @property
    def session_id(self) -> str:
        """The session id (``""`` for a node's default session)."""
        return self._sid

    @property
    def node_id(self) -> str:
        return self._node

    @property
    def client(self) -> KatoClient:
        return self._client

    def _run(self, op: Op[T], timeout: Optional[float] = _UNSET) -> T:
        return self._client._run(op, timeout)

    # ------------------------------------------------------------------ observe

    def observe(self, strings: Iterable[str] = (), vectors: Iterable[Sequence[float]] = (),
                emotives: Optional[Mapping[str, float]] = None, metadata: Optional[Mapping[str, Any]] = None,
                unique_id: str = "", timeout: Optional[float] = _UNSET) -> ObserveResult:
        """Adds one observation to the STM (auto-learning at ``max_pattern_length``).

        ``strings`` may be a single ``str`` (one symbol). Returns the acknowledgement."""
        strings = (strings,) if isinstance(strings, str) else tuple(strings)
        obs = Observation(strings=strings, vectors=tuple(vectors), emotives=emotives, metadata=metadata,
                          unique_id=unique_id)
        return self._run(_ops.observe(self._sid, self._node, obs), timeout)

    def observe_sequence(self, observations: Iterable[ObservationLike], learn_after_each: bool = False,
                         learn_at_end: bool = False, clear_stm_between: bool = False,
                         timeout: Optional[float] = _UNSET) -> SequenceResult:
        """Adds many observations in one call.

        Each observation is an :class:`~kato_client.Observation`, a dict of its fields, a list of
        strings (one event) or a str (one symbol).

        :param learn_after_each: learn after each observation (when the STM is not empty).
        :param learn_at_end: learn once after the last one; the name is ``final_learned_pattern``.
        :param clear_stm_between: clear the STM before every observation but the first.
        """
        return self._run(_ops.observe_sequence(self._sid, self._node, observations, learn_after_each, learn_at_end,
                                               clear_stm_between), timeout)

    def observe_stream(self, observations: Iterable[ObservationLike],
                       timeout: Optional[float] = None) -> ObserveStream:
        """Streams observations (ObserveStream); returns an iterator of their acknowledgements.

        ``observations`` may be a lazy generator: it is consumed as the server takes the
        observations, so acknowledgements arrive while it is still producing. An exception
        raised by ``observations`` cancels the stream and is re-raised by the iterator."""
        requests = _ops.StreamRequests(self._sid, self._node, observations)
        call = self._client._stream(_ops.OBSERVE, "ObserveStream", requests.sync(), timeout)
        return ObserveStream(call, ObserveResult.from_pb, requests)

    def learn(self, timeout: Optional[float] = _UNSET) -> str:
        """Learns the STM as a pattern and empties the STM. Returns ``PTRN|<sha1>``, or ``""``
        when the STM held fewer than two symbols. Raises ``EmptySTM`` on an empty STM."""
        return self._run(_ops.learn(self._sid, self._node), timeout)

    def stm(self, timeout: Optional[float] = _UNSET) -> Events:
        """The short-term memory: a list of events, each a list of symbols."""
        return self._run(_ops.stm(self._sid, self._node), timeout)

    def clear_stm(self, timeout: Optional[float] = _UNSET) -> None:
        """Empties the STM, the emotive/metadata accumulators and the cached predictions."""
        self._run(_ops.clear_stm(self._sid, self._node), timeout)

    def clear_all(self, timeout: Optional[float] = _UNSET) -> None:
        """Wipes the node's whole knowledge base and this session's STM and time."""
        self._run(_ops.clear_all(self._sid, self._node), timeout)

    # ------------------------------------------------------------------ predict

    def predictions(self, timeout: Optional[float] = _UNSET) -> List[Prediction]:
        """The predictions of the most recent observe, best first."""
        return self._run(_ops.get_predictions(self._sid, self._node, _ops.only_predictions), timeout)

    def future_potentials(self, timeout: Optional[float] = _UNSET) -> List[FuturePotential]:
        """The distinct futures over the predictions, by aggregate potential descending."""
        return self._run(_ops.get_predictions(self._sid, self._node, _ops.only_futures), timeout)

    def get_predictions(self, timeout: Optional[float] = _UNSET) -> Predictions:
        """Predictions and future potentials from one call (a consistent snapshot)."""
        return self._run(_ops.get_predictions(self._sid, self._node, _ops.same), timeout)

    def pattern(self, name: str, timeout: Optional[float] = _UNSET) -> Pattern:
        """A learned pattern of the node by name (``PTRN|<sha1>`` or the bare 40-hex name).
        Raises ``PatternNotFound``."""
        return self._run(_ops.pattern(self._sid, self._node, name), timeout)

    def percept_data(self, timeout: Optional[float] = _UNSET) -> PerceptData:
        """The session's last observation, as received."""
        return self._run(_ops.percept_data(self._sid, self._node), timeout)

    def cognition_data(self, timeout: Optional[float] = _UNSET) -> CognitionData:
        """Predictions, current emotives, last event and STM."""
        return self._run(_ops.cognition_data(self._sid, self._node), timeout)

    def subscribe(self, send_initial: bool = True, timeout: Optional[float] = None,
                  resume_for: float = _ops.Resumption.RESUME_FOR) -> Subscription:
        """Subscribes to the session's predictions: an iterator yielding one
        :class:`~kato_client.PredictionUpdate` after every change of the STM, whoever made it.

        :param send_initial: first yield the current state (cause ``INITIAL``).
        :param timeout: deadline of the whole subscription (``None``: until closed).
        :param resume_for: after its server goes away, how many seconds it keeps resuming
                           (elsewhere, through a load balancer) before raising the last error.

        Iterate it (blocking) in a loop or a thread; ``close()`` cancels it from anywhere::

            with session.subscribe() as updates:
                for update in updates:
                    print(update.sequence, update.cause, update.predictions[:1])
        """
        def reopen(request: Any) -> Any:
            return self._client._stream(_ops.PREDICT, "SubscribePredictions", request, timeout)

        resumption = _ops.Resumption(self._sid, self._node, send_initial, resume_for)
        return Subscription(reopen(resumption.first_request()), PredictionUpdate.from_pb,
                            reopen, resumption)


class Session(SessionBase):
    """A session created by :meth:`KatoClient.session` (or found by :meth:`KatoClient.attach`).

    A context manager: leaving the ``with`` block deletes the session when ``delete_on_exit``
    is true (the default for created sessions); a session already gone is not an error there.
    """

    def __init__(self, client: KatoClient, info: SessionInfo, delete_on_exit: bool = True) -> None:
        super().__init__(client, info.session_id, info.node_id)
        self.info = info
        self.delete_on_exit = delete_on_exit
        self._deleted = False

    @property
    def deleted(self) -> bool:
        """True once :meth:`delete` succeeded."""
        return self._deleted

    def refresh(self, timeout: Optional[float] = _UNSET) -> SessionInfo:
        """Fetches the session's current description (refreshing its sliding expiry)."""
        self.info = self._run(_ops.get_session(self._sid), timeout)
        return self.info

    def update_config(self, config: ConfigLike = None, timeout: Optional[float] = _UNSET,
                      **genes: Any) -> SessionInfo:
        """Changes the engine configuration, e.g. ``update_config(max_pattern_length=3)``.

        Only the given genes change. Validated by the server, all or nothing
        (``ValidationError`` with ``field_violations``)."""
        self.info = self._run(_ops.update_config(self._sid, config, genes), timeout)
        return self.info

    def extend(self, ttl_seconds: int = 0, timeout: Optional[float] = _UNSET) -> SessionInfo:
        """Sets a new TTL (0 = keep it) and moves the expiry to now + TTL."""
        self.info = self._run(_ops.extend_session(self._sid, ttl_seconds), timeout)
        return self.info

    def delete(self, timeout: Optional[float] = _UNSET) -> None:
        """Deletes the session; its subscriptions end with ``SessionEnded``."""
        self._run(_ops.delete_session(self._sid), timeout)
        self._deleted = True

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self.delete_on_exit and not self._deleted:
            try:
                self.delete()
            except SessionNotFound:
                pass  # already deleted or expired
            except KatoError:
                if exc_type is None:
                    raise

    def __repr__(self) -> str:
        return f"Session({self._sid!r}, node_id={self._node!r})"


class DefaultSession(SessionBase):
    """The default session of a node: calls carry ``node_id`` and no session id (KATO v1 style)."""

    def __init__(self, client: KatoClient, node_id: str) -> None:
        super().__init__(client, "", node_id)

    def __repr__(self) -> str:
        return f"DefaultSession(node_id={self._node!r})"

