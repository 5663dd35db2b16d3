"""The asynchronous kato client, on ``grpc.aio``: the same shape as :mod:`kato_client.client`
with ``async``/``await``.

>>> import asyncio
>>> from kato_client.aio import AsyncKatoClient
>>> async def main():
...     async with AsyncKatoClient("127.0.0.1:50051") as client:
...         async with client.session(node_id="demo") as s:
...             await s.observe(strings=["hello"])
...             await s.observe(strings=["world"])
...             await s.learn()
...             async with s.subscribe() as updates:
...                 async for update in updates:
...                     print(update.cause, update.predictions[:1])
...                     break
>>> asyncio.run(main())

Create the client inside the event loop that uses it.
"""
from __future__ import annotations

import asyncio
from types import TracebackType
from typing import (Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Dict, Generator, Generic, Iterable,
                    List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union)

import grpc
import grpc.aio

from . import _ops
from ._ops import ConfigLike, Op
from ._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc
from ._transport import DEFAULT_TARGET, Metadata, TLSConfig, TLSLike, call_metadata, channel_settings
from .errors import KatoError, SessionNotFound, Unavailable
from .types import (CognitionData, Events, FuturePotential, Observation, ObservationLike, ObserveResult, Pattern,
                    PerceptData, Prediction, Predictions, PredictionUpdate, SequenceResult, SessionInfo)

__all__ = ["AsyncKatoClient", "AsyncSessionBase", "AsyncSession", "AsyncDefaultSession", "AsyncSubscription", "AsyncObserveStream",
           "TLSConfig"]

T = TypeVar("T")

_UNSET: Any = object()


class AsyncKatoClient:
    """A ``grpc.aio`` connection to a kato server; arguments as :class:`kato_client.KatoClient`.

    An async context manager that closes its channel."""

    def __init__(self, target: str = DEFAULT_TARGET, api_key: Optional[str] = None, tls: TLSLike = None,
                 timeout: Optional[float] = None, metadata: Metadata = (),
                 options: Sequence[Tuple[str, Any]] = ()) -> None:
        credentials, opts = channel_settings(tls, options)
        self.target = target
        self.timeout = timeout
        self._metadata = call_metadata(api_key, metadata)
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(target, options=opts)
        else:
            self._channel = grpc.aio.secure_channel(target, credentials, options=opts)
        self._stubs: Dict[str, Any] = {
            _ops.SESSIONS: session_pb2_grpc.SessionServiceStub(self._channel),
            _ops.OBSERVE: observe_pb2_grpc.ObserveServiceStub(self._channel),
            _ops.PREDICT: predict_pb2_grpc.PredictServiceStub(self._channel),
        }
        self._health = self._channel.unary_unary(_ops.HEALTH_CHECK, request_serializer=None,
                                                 response_deserializer=None)

    @property
    def channel(self) -> grpc.aio.Channel:
        """The underlying ``grpc.aio`` channel."""
        return self._channel

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is _UNSET else timeout

    async def _run(self, op: Op[T], timeout: Optional[float] = _UNSET) -> T:
        method = getattr(self._stubs[op.service], op.method)
        try:
            response = await method(op.request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise KatoError.from_rpc_error(e) from e
        return op.convert(response)

    def _stream(self, service: str, method: str, request: Any, timeout: Optional[float]) -> Any:
        return getattr(self._stubs[service], method)(request, timeout=timeout, metadata=self._metadata)

    # ------------------------------------------------------------------ sessions

    def session(self, node_id: str, ttl_seconds: int = 0, config: ConfigLike = None,
                metadata: Optional[Mapping[str, Any]] = None) -> "_PendingSession":
        """Creates a session on ``node_id``. Await it (``s = await client.session(...)``) or use it
        as ``async with client.session(...) as s:`` to delete the session on exit."""

        async def create() -> AsyncSession:
            info = await self._run(_ops.create_session(node_id, ttl_seconds, config, metadata))
            return AsyncSession(self, info, delete_on_exit=True)

        return _PendingSession(create)

    async def attach(self, session_id: str, delete_on_exit: bool = False) -> "AsyncSession":
        """An :class:`AsyncSession` for an existing session (checked with GetSession)."""
        return AsyncSession(self, await self._run(_ops.get_session(session_id)), delete_on_exit=delete_on_exit)

    def default_session(self, node_id: str = "default") -> "AsyncDefaultSession":
        """The default session of ``node_id`` (KATO v1-style calls without a session id)."""
        return AsyncDefaultSession(self, node_id)

    async def get_session(self, session_id: str) -> SessionInfo:
        """Describes a session (and refreshes its sliding expiry)."""
        return await self._run(_ops.get_session(session_id))

    async def delete_session(self, session_id: str) -> None:
        """Deletes a session by id."""
        await self._run(_ops.delete_session(session_id))

    async def count_sessions(self, node_id: Optional[str] = None) -> int:
        """Live sessions on the server, or on ``node_id``."""
        return await self._run(_ops.count_sessions(node_id))

    # ------------------------------------------------------------------ server

    async def health(self, service: str = "", timeout: Optional[float] = _UNSET) -> str:
        """The grpc.health.v1 status of ``service`` ("" = the whole server)."""
        try:
            raw = await self._health(_ops.health_request(service), timeout=self._timeout(timeout),
                                     metadata=self._metadata)
        except grpc.RpcError as e:
            raise KatoError.from_rpc_error(e) from e
        return _ops.health_status(raw)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Waits until the channel is connected; raises ``Unavailable`` after ``timeout``."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise Unavailable(f"{self.target} not ready after {timeout} s", code=grpc.StatusCode.UNAVAILABLE) from None

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> "AsyncKatoClient":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncKatoClient({self.target!r})"


class _PendingSession:
    """What :meth:`AsyncKatoClient.session` returns: awaitable, or an async context manager."""

    def __init__(self, create: Callable[[], Awaitable["AsyncSession"]]) -> None:
        self._create = create
        self._session: Optional[AsyncSession] = None

    def __await__(self) -> Generator[Any, None, "AsyncSession"]:
        return self._create().__await__()

    async def __aenter__(self) -> "AsyncSession":
        self._session = await self._create()
        return self._session

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        if self._session is not None:
            await self._session.__aexit__(exc_type, exc, tb)


class _AsyncStreamIterator(Generic[T]):
    """An async iterator over a server stream; ``close()`` cancels the call and ends the iteration
    quietly; any other failure raises :class:`KatoError`."""

    def __init__(self, call: Any, convert: Callable[[Any], T], requests: Optional[_ops.StreamRequests] = None) -> None:
        self._call = call
        self._convert = convert
        self._requests = requests
        self._closed = False
        self._done = False

    def __aiter__(self) -> "_AsyncStreamIterator[T]":
        return self

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        try:
            message = await self._call.read()
        except asyncio.CancelledError:
            if self._requests is not None and self._requests.error is not None:
                self._done = True  # grpc.aio cancels the call when the request iterator fails
                raise self._requests.error from None
            if self._closed:
                self._done = True
                raise StopAsyncIteration from None
            raise
        except grpc.RpcError as e:
            self._done = True
            if self._closed and e.code() == grpc.StatusCode.CANCELLED:
                raise StopAsyncIteration from None
            if self._requests is not None and self._requests.error is not None:
                raise self._requests.error from e
            raise KatoError.from_rpc_error(e) from e
        if message is grpc.aio.EOF:
            self._done = True
            raise StopAsyncIteration
        return self._convert(message)

    def close(self) -> None:
        """Cancels the call (idempotent)."""
        self._closed = True
        self._call.cancel()

    @property
    def closed(self) -> bool:
        return self._closed

    async def trace_id(self) -> Optional[str]:
        """The server's trace id of the call (``x-trace-id`` trailer); waits until the call ends."""
        trailing = await self._call.trailing_metadata()
        for key, value in trailing or ():
            if key == "x-trace-id":
                return value if isinstance(value, str) else value.decode()
        return None

    async def __aenter__(self) -> "_AsyncStreamIterator[T]":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


class AsyncSubscription(_AsyncStreamIterator[PredictionUpdate]):
    """Async iterator of :class:`~kato_client.PredictionUpdate`; ends with ``SessionEnded`` when the
    session goes away, quietly after ``close()``. Resumes by itself after the last sequence it
    yielded when the server goes away (see :class:`kato_client.Subscription`)."""

    def __init__(self, call: Any, convert: Callable[[Any], PredictionUpdate],
                 reopen: Optional[Callable[[Any], Any]] = None, resumption: Optional[_ops.Resumption] = None) -> None:
        super().__init__(call, lambda m: m)
        self._to_update = convert
        self._reopen = reopen
        self._resumption = resumption

    @property
    def resumed(self) -> int:
        return self._resumption.resumed if self._resumption else 0

    async def __anext__(self) -> PredictionUpdate:
        while True:
            try:
                message = await super().__anext__()
            except KatoError as e:
                request = None
                if _ops.Resumption.resumable(e) and self._reopen is not None and self._resumption is not None \
                        and not self._closed:
                    request = self._resumption.next_request()
                if request is None:
                    raise
                await asyncio.sleep(self._resumption.backoff())
                self._call, self._done = self._reopen(request), False
                continue
            if self._resumption is None or self._resumption.seen(message):
                return self._to_update(message)


class AsyncObserveStream(_AsyncStreamIterator[ObserveResult]):
    """Async iterator of :class:`~kato_client.ObserveResult`, one per observation sent, in order."""


class AsyncSessionBase:
    def __init__(self, client: AsyncKatoClient, session_id: str, node_id: str) -> None:
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
    def client(self) -> AsyncKatoClient:
        return self._client

    async def _run(self, op: Op[T], timeout: Optional[float] = _UNSET) -> T:
        return await self._client._run(op, timeout)

    async def observe(self, strings: Iterable[str] = (), vectors: Iterable[Sequence[float]] = (),
                      emotives: Optional[Mapping[str, float]] = None, metadata: Optional[Mapping[str, Any]] = None,
                      unique_id: str = "", timeout: Optional[float] = _UNSET) -> ObserveResult:
        """Adds one observation to the STM; ``strings`` may be a single ``str``."""
        strings = (strings,) if isinstance(strings, str) else tuple(strings)
        obs = Observation(strings=strings, vectors=tuple(vectors), emotives=emotives, metadata=metadata,
                          unique_id=unique_id)
        return await self._run(_ops.observe(self._sid, self._node, obs), timeout)

    async def observe_sequence(self, observations: Iterable[ObservationLike], learn_after_each: bool = False,
                               learn_at_end: bool = False, clear_stm_between: bool = False,
                               timeout: Optional[float] = _UNSET) -> SequenceResult:
        """Adds many observations in one call (see :meth:`kato_client.Session.observe_sequence`)."""
        return await self._run(_ops.observe_sequence(self._sid, self._node, observations, learn_after_each,
                                                     learn_at_end, clear_stm_between), timeout)

    def observe_stream(self, observations: Union[Iterable[ObservationLike], AsyncIterable[ObservationLike]],
                       timeout: Optional[float] = None) -> AsyncObserveStream:
        """Streams observations (a sync or async iterable); returns an async iterator of acknowledgements.
        An exception raised by ``observations`` cancels the stream and is re-raised by the iterator."""
        requests = _ops.StreamRequests(self._sid, self._node, observations)
        call = self._client._stream(_ops.OBSERVE, "ObserveStream", requests.asynchronous(), timeout)
        return AsyncObserveStream(call, ObserveResult.from_pb, requests)

    async def learn(self, timeout: Optional[float] = _UNSET) -> str:
        """Learns the STM as a pattern; returns ``PTRN|<sha1>`` (``""`` if under two symbols)."""
        return await self._run(_ops.learn(self._sid, self._node), timeout)

    async def stm(self, timeout: Optional[float] = _UNSET) -> Events:
        """The short-term memory: a list of events."""
        return await self._run(_ops.stm(self._sid, self._node), timeout)

    async def clear_stm(self, timeout: Optional[float] = _UNSET) -> None:
        """Empties the STM and the accumulators."""
        await self._run(_ops.clear_stm(self._sid, self._node), timeout)

    async def clear_all(self, timeout: Optional[float] = _UNSET) -> None:
        """Wipes the node's knowledge base and this session's STM and time."""
        await self._run(_ops.clear_all(self._sid, self._node), timeout)

    async def predictions(self, timeout: Optional[float] = _UNSET) -> List[Prediction]:
        """The predictions of the most recent observe, best first."""
        return await self._run(_ops.get_predictions(self._sid, self._node, _ops.only_predictions), timeout)

    async def future_potentials(self, timeout: Optional[float] = _UNSET) -> List[FuturePotential]:
        """The distinct futures over the predictions."""
        return await self._run(_ops.get_predictions(self._sid, self._node, _ops.only_futures), timeout)

    async def get_predictions(self, timeout: Optional[float] = _UNSET) -> Predictions:
        """Predictions and future potentials from one call."""
        return await self._run(_ops.get_predictions(self._sid, self._node, _ops.same), timeout)

    async def pattern(self, name: str, timeout: Optional[float] = _UNSET) -> Pattern:
        """A learned pattern of the node by name; raises ``PatternNotFound``."""
        return await self._run(_ops.pattern(self._sid, self._node, name), timeout)

    async def percept_data(self, timeout: Optional[float] = _UNSET) -> PerceptData:
        """The session's last observation, as received."""
        return await self._run(_ops.percept_data(self._sid, self._node), timeout)

    async def cognition_data(self, timeout: Optional[float] = _UNSET) -> CognitionData:
        """Predictions, current emotives, last event and STM."""
        return await self._run(_ops.cognition_data(self._sid, self._node), timeout)

    def subscribe(self, send_initial: bool = True, timeout: Optional[float] = None,
                  resume_for: float = _ops.Resumption.RESUME_FOR) -> AsyncSubscription:
        """An async iterator of :class:`~kato_client.PredictionUpdate`, one per change of the STM::

            async with session.subscribe() as updates:
                async for update in updates:
                    ...
        """
        def reopen(request: Any) -> Any:
            return self._client._stream(_ops.PREDICT, "SubscribePredictions", request, timeout)

        resumption = _ops.Resumption(self._sid, self._node, send_initial, resume_for)
        return AsyncSubscription(reopen(resumption.first_request()),
                                 PredictionUpdate.from_pb, reopen, resumption)


class AsyncSession(AsyncSessionBase):
    """A created (or attached) session; ``async with`` deletes it on exit when ``delete_on_exit``."""

    def __init__(self, client: AsyncKatoClient, info: SessionInfo, delete_on_exit: bool = True) -> None:
        super().__init__(client, info.session_id, info.node_id)
        self.info = info
        self.delete_on_exit = delete_on_exit
        self._deleted = False

    @property
    def deleted(self) -> bool:
        return self._deleted

    async def refresh(self, timeout: Optional[float] = _UNSET) -> SessionInfo:
        """Fetches the session's current description (refreshing its sliding expiry)."""
        self.info = await self._run(_ops.get_session(self._sid), timeout)
        return self.info

    async def update_config(self, config: ConfigLike = None, timeout: Optional[float] = _UNSET,
                            **genes: Any) -> SessionInfo:
        """Changes the engine configuration (validated, all or nothing)."""
        self.info = await self._run(_ops.update_config(self._sid, config, genes), timeout)
        return self.info

    async def extend(self, ttl_seconds: int = 0, timeout: Optional[float] = _UNSET) -> SessionInfo:
        """Sets a new TTL (0 = keep it) and moves the expiry to now + TTL."""
        self.info = await self._run(_ops.extend_session(self._sid, ttl_seconds), timeout)
        return self.info

    async def delete(self, timeout: Optional[float] = _UNSET) -> None:
        """Deletes the session."""
        await self._run(_ops.delete_session(self._sid), timeout)
        self._deleted = True

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        if self.delete_on_exit and not self._deleted:
            try:
                await self.delete()
            except SessionNotFound:
                pass
            except KatoError:
                if exc_type is None:
                    raise

    def __repr__(self) -> str:
        return f"AsyncSession({self._sid!r}, node_id={self._node!r})"


class AsyncDefaultSession(AsyncSessionBase):
    """The default session of a node (calls carry ``node_id`` and no session id)."""

    def __init__(self, client: AsyncKatoClient, node_id: str) -> None:
        super().__init__(client, "", node_id)

    def __repr__(self) -> str:
        return f"AsyncDefaultSession(node_id={self._node!r})"
