"""Plain, typed value objects returned (and accepted) by the kato client.

They are converted from the ``kato.v2`` protobuf messages so callers never handle
generated code. An *event* is a list of symbols observed at one time step; an STM or a
pattern is a list of events (``List[List[str]]``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from google.protobuf import json_format, struct_pb2

from ._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2

__all__ = [
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

#: A list of events; each event is the list of symbols observed at one time step.
Events = List[List[str]]


class StmMode(enum.Enum):
    """What happens to the STM after an auto-learn."""

    #: The STM is emptied (KATO's default).
    CLEAR = types_pb2.STM_MODE_CLEAR
    #: The STM keeps its last ``max_pattern_length - 1`` events (a sliding window).
    ROLLING = types_pb2.STM_MODE_ROLLING


class UpdateCause(enum.Enum):
    """What changed the STM, in a :class:`PredictionUpdate`."""

    UNSPECIFIED = predict_pb2.UPDATE_CAUSE_UNSPECIFIED
    INITIAL = predict_pb2.UPDATE_CAUSE_INITIAL
    OBSERVE = predict_pb2.UPDATE_CAUSE_OBSERVE
    LEARN = predict_pb2.UPDATE_CAUSE_LEARN
    AUTO_LEARN = predict_pb2.UPDATE_CAUSE_AUTO_LEARN
    CLEAR_STM = predict_pb2.UPDATE_CAUSE_CLEAR_STM
    CLEAR_ALL = predict_pb2.UPDATE_CAUSE_CLEAR_ALL
    #: A resumed subscription missed updates the server no longer keeps: this one carries the
    #: session's state as of its sequence (never a silent hole).
    GAP = predict_pb2.UPDATE_CAUSE_GAP

    @classmethod
    def _from_pb(cls, value: int) -> "UpdateCause":
        try:
            return cls(value)
        except ValueError:
            return cls.UNSPECIFIED


def _events(events: Iterable[Any]) -> Events:
    return [list(e.symbols) for e in events]


def _pb_events(events: Iterable[Iterable[str]]) -> List[types_pb2.Event]:
    return [types_pb2.Event(symbols=list(e)) for e in events]


def _value_to_py(value: struct_pb2.Value) -> Any:
    return json_format.MessageToDict(value)


def _struct_to_dict(struct: struct_pb2.Struct) -> Dict[str, Any]:
    return json_format.MessageToDict(struct)


def _fill_value_map(target: Any, metadata: Optional[Mapping[str, Any]]) -> None:
    """Copies a JSON-like mapping into a protobuf ``map<string, google.protobuf.Value>``."""
    if not metadata:
        return
    struct = struct_pb2.Struct()
    struct.update(dict(metadata))
    for key, value in struct.fields.items():
        target[key].CopyFrom(value)


def _timestamp(ts: Any) -> Optional[datetime]:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    result: datetime = ts.ToDatetime(tzinfo=timezone.utc)
    return result


# ----------------------------------------------------------------------------- configuration

@dataclass
class SessionConfig:
    """Engine configuration ("genes") of a session. ``None`` means "not set": on create, the
    server default; on update, keep the current value. The server validates every field
    (all or nothing) and rejects bad values with :class:`~kato_client.ValidationError`.
    """

    #: Auto-learn when the STM holds this many events; 0 = learn only on request.
    max_pattern_length: Optional[int] = None
    #: Size of each pattern's emotive window (1..100, default 5).
    persistence: Optional[int] = None
    #: Minimum similarity of a prediction (0.0..1.0, default 0.1).
    recall_threshold: Optional[float] = None
    #: STM behaviour after an auto-learn: :class:`StmMode`, ``"CLEAR"`` / ``"ROLLING"``, or a raw enum number.
    stm_mode: Optional[Union[StmMode, str, int]] = None
    #: Vector indexer; only ``"VI"``.
    indexer_type: Optional[str] = None
    #: Predictions kept after ranking (1..10000, default 100).
    max_predictions: Optional[int] = None
    #: Sort the symbols inside each event (default True).
    sort_symbols: Optional[bool] = None
    #: Compute predictions on every observe (default True).
    process_predictions: Optional[bool] = None

    @classmethod
    def coerce(cls, config: "Union[SessionConfig, Mapping[str, Any], None]" = None, **genes: Any) -> "SessionConfig":
        """A SessionConfig from an instance, a mapping of gene names, and/or keyword genes.

        Unknown gene names raise ``TypeError``.
        """
        if config is None:
            base: Dict[str, Any] = {}
        elif isinstance(config, SessionConfig):
            base = {f.name: getattr(config, f.name) for f in fields(config)}
        else:
            base = dict(config)
        base.update(genes)
        return cls(**base)

    def to_pb(self) -> types_pb2.SessionConfig:
        """The ``kato.v2.SessionConfig`` message (only the fields that are set)."""
        msg = types_pb2.SessionConfig()
        for name in ("max_pattern_length", "persistence", "recall_threshold", "indexer_type",
                     "max_predictions", "sort_symbols", "process_predictions"):
            value = getattr(self, name)
            if value is not None:
                getattr(msg, name).value = value
        if self.stm_mode is not None:
            mode = self.stm_mode
            if isinstance(mode, StmMode):
                msg.stm_mode = mode.value
            elif isinstance(mode, str):
                try:
                    msg.stm_mode = StmMode[mode.upper().removeprefix("STM_MODE_")].value
                except KeyError:
                    raise ValueError(f"stm_mode must be CLEAR or ROLLING, not {mode!r}") from None
            else:
                msg.stm_mode = int(mode)
        return msg

    @classmethod
    def from_pb(cls, msg: types_pb2.SessionConfig) -> "SessionConfig":
        def get(name: str) -> Any:
            return getattr(msg, name).value if msg.HasField(name) else None

        mode: Optional[Union[StmMode, int]] = None
        if msg.stm_mode != types_pb2.STM_MODE_UNSPECIFIED:
            known = {m.value: m for m in StmMode}
            mode = known.get(msg.stm_mode, int(msg.stm_mode))
        return cls(
            max_pattern_length=get("max_pattern_length"), persistence=get("persistence"),
            recall_threshold=get("recall_threshold"), stm_mode=mode, indexer_type=get("indexer_type"),
            max_predictions=get("max_predictions"), sort_symbols=get("sort_symbols"),
            process_predictions=get("process_predictions"))


# ----------------------------------------------------------------------------- observations

@dataclass
class Observation:
    """One observation: string symbols, vectors, emotives and metadata, all optional.

    Strings are kept exactly as given. All vectors of one observation must have the same
    dimension; they become one ``VCTR|<sha1>`` symbol. Metadata values are any JSON values.
    """

    strings: Sequence[str] = ()
    vectors: Sequence[Sequence[float]] = ()
    emotives: Optional[Mapping[str, float]] = None
    metadata: Optional[Mapping[str, Any]] = None
    #: Echoed back in the acknowledgement; the server generates ``obs-<32 hex>`` when empty.
    unique_id: str = ""

    @classmethod
    def coerce(cls, obs: "ObservationLike") -> "Observation":
        """An Observation from an Observation, a mapping of its fields, a str (one symbol)
        or a sequence of strings (the symbols of one event)."""
        if isinstance(obs, Observation):
            return obs
        if isinstance(obs, str):
            return cls(strings=(obs,))
        if isinstance(obs, Mapping):
            return cls(**obs)
        return cls(strings=tuple(obs))

    def to_pb(self) -> types_pb2.Observation:
        msg = types_pb2.Observation(
            strings=list(self.strings), vectors=[types_pb2.Vector(values=list(v)) for v in self.vectors],
            emotives=dict(self.emotives or {}), unique_id=self.unique_id or "")
        _fill_value_map(msg.metadata, self.metadata)
        return msg

    def to_request(self, session_id: str, node_id: str) -> observe_pb2.ObserveRequest:
        msg = observe_pb2.ObserveRequest(
            session_id=session_id, node_id=node_id, strings=list(self.strings),
            vectors=[types_pb2.Vector(values=list(v)) for v in self.vectors],
            emotives=dict(self.emotives or {}), unique_id=self.unique_id or "")
        _fill_value_map(msg.metadata, self.metadata)
        return msg


#: What the observe methods accept as one observation.
ObservationLike = Union[Observation, Mapping[str, Any], str, Sequence[str]]


@dataclass(frozen=True)
class ObserveResult:
    """The acknowledgement of one observation."""

    status: str
    session_id: str
    node_id: str
    #: Events in the STM after the call (after any auto-learn).
    stm_length: int
    #: The session's observation counter after the call.
    time: int
    unique_id: str
    #: ``PTRN|<sha1>`` when this observation triggered an auto-learn, else ``None``.
    auto_learned_pattern: Optional[str]
    #: The symbols this observation added (vector symbols first, then strings).
    symbols: List[str]
    #: Position in an ``observe_sequence`` / ``observe_stream`` call (0 for ``observe``).
    sequence_position: int
    #: True when an auto-learn was due but skipped because the server is degraded.
    auto_learn_skipped: bool

    @classmethod
    def from_pb(cls, msg: observe_pb2.ObserveResponse) -> "ObserveResult":
        return cls(status=msg.status, session_id=msg.session_id, node_id=msg.node_id, stm_length=msg.stm_length,
                   time=msg.time, unique_id=msg.unique_id, auto_learned_pattern=msg.auto_learned_pattern or None,
                   symbols=list(msg.symbols), sequence_position=msg.sequence_position,
                   auto_learn_skipped=msg.auto_learn_skipped)


@dataclass(frozen=True)
class SequenceResult:
    """The result of ``observe_sequence``."""

    status: str
    session_id: str
    observations_processed: int
    initial_stm_length: int
    final_stm_length: int
    #: One acknowledgement per observation, in order.
    results: List[ObserveResult]
    #: Names learned during the call, in order (learn_after_each, auto-learn, learn_at_end); as the
    #: server reports them, ``""`` for a learn that found fewer than two symbols.
    auto_learned_patterns: List[str]
    #: The name learned by ``learn_at_end``, else ``None``.
    final_learned_pattern: Optional[str]

    @classmethod
    def from_pb(cls, msg: observe_pb2.ObserveSequenceResponse) -> "SequenceResult":
        return cls(status=msg.status, session_id=msg.session_id, observations_processed=msg.observations_processed,
                   initial_stm_length=msg.initial_stm_length, final_stm_length=msg.final_stm_length,
                   results=[ObserveResult.from_pb(r) for r in msg.results],
                   auto_learned_patterns=list(msg.auto_learned_patterns),
                   final_learned_pattern=msg.final_learned_pattern or None)


# ----------------------------------------------------------------------------- predictions

@dataclass(frozen=True)
class Prediction:
    """One prediction, field for field as KATO v2 returns it."""

    #: The pattern's bare 40-hex name (no ``PTRN|`` prefix), as KATO reports it.
    name: str
    #: Always ``"prototypical"``.
    type: str
    #: How often the pattern was learned.
    frequency: int
    #: Mean of the pattern's emotive window, per emotive.
    emotives: Dict[str, float]
    #: STM symbols matched by the pattern, in order.
    matches: List[str]
    #: Pattern events before the matched part.
    past: Events
    #: Pattern events covering the matched part.
    present: Events
    #: Pattern events after the matched part: what is predicted to come next.
    future: Events
    #: Per present event, its symbols not observed.
    missing: Events
    #: Per STM event, its symbols not in the present.
    extras: Events
    #: The whole pattern.
    sequence: Events
    similarity: float
    evidence: float
    confidence: float
    fragmentation: float
    snr: float
    entropy: float
    normalized_entropy: float
    global_normalized_entropy: float
    confluence: float
    potential: float
    predictive_information: float
    itfdf_similarity: float
    pattern_probability: float
    weighted_strength: float

    @property
    def pattern_name(self) -> str:
        """The name with its ``PTRN|`` prefix, as :meth:`Session.pattern` and ``learn()`` use it."""
        return "PTRN|" + self.name

    @classmethod
    def from_pb(cls, msg: types_pb2.Prediction) -> "Prediction":
        return cls(
            name=msg.name, type=msg.type, frequency=msg.frequency, emotives=dict(msg.emotives),
            matches=list(msg.matches), past=_events(msg.past), present=_events(msg.present),
            future=_events(msg.future), missing=_events(msg.missing), extras=_events(msg.extras),
            sequence=_events(msg.sequence), similarity=msg.similarity, evidence=msg.evidence,
            confidence=msg.confidence, fragmentation=msg.fragmentation, snr=msg.snr, entropy=msg.entropy,
            normalized_entropy=msg.normalized_entropy, global_normalized_entropy=msg.global_normalized_entropy,
            confluence=msg.confluence, potential=msg.potential, predictive_information=msg.predictive_information,
            itfdf_similarity=msg.itfdf_similarity, pattern_probability=msg.pattern_probability,
            weighted_strength=msg.weighted_strength)


@dataclass(frozen=True)
class FuturePotential:
    """One distinct future over the ensemble of predictions."""

    future: Events
    aggregate_potential: float
    supporting_patterns: int
    total_weighted_frequency: float

    @classmethod
    def from_pb(cls, msg: types_pb2.FuturePotential) -> "FuturePotential":
        return cls(future=_events(msg.future), aggregate_potential=msg.aggregate_potential,
                   supporting_patterns=msg.supporting_patterns, total_weighted_frequency=msg.total_weighted_frequency)


@dataclass(frozen=True)
class Predictions:
    """Predictions and future potentials from one ``GetPredictions`` call (a consistent snapshot)."""

    session_id: str
    #: Ordered by potential descending, ties by name ascending.
    predictions: List[Prediction]
    #: Ordered by aggregate potential descending.
    future_potentials: List[FuturePotential]

    @classmethod
    def from_pb(cls, msg: predict_pb2.GetPredictionsResponse) -> "Predictions":
        return cls(session_id=msg.session_id, predictions=[Prediction.from_pb(p) for p in msg.predictions],
                   future_potentials=[FuturePotential.from_pb(f) for f in msg.future_potentials])


@dataclass(frozen=True)
class PredictionUpdate:
    """One change of a session's STM, as pushed by ``subscribe()``."""

    session_id: str
    #: Strictly increasing per session; a gap means updates were dropped for a slow subscriber
    #: (or, after a resume, an update with cause ``GAP`` says so).
    sequence: int
    cause: UpdateCause
    #: The STM after the change.
    stm: Events
    predictions: List[Prediction]
    future_potentials: List[FuturePotential]
    #: The session's observation counter.
    time: int

    @classmethod
    def from_pb(cls, msg: predict_pb2.PredictionUpdate) -> "PredictionUpdate":
        return cls(session_id=msg.session_id, sequence=msg.sequence, cause=UpdateCause._from_pb(msg.cause),
                   stm=_events(msg.stm), predictions=[Prediction.from_pb(p) for p in msg.predictions],
                   future_potentials=[FuturePotential.from_pb(f) for f in msg.future_potentials], time=msg.time)


@dataclass(frozen=True)
class Pattern:
    """A learned pattern of a node's knowledge base."""

    #: ``PTRN|<40 hex>``.
    name: str
    #: The pattern's events.
    events: Events
    #: Total number of symbols.
    length: int
    frequency: int
    #: The emotive window, oldest first (at most ``persistence`` records).
    emotives: List[Dict[str, float]]
    #: Metadata key -> de-duplicated values.
    metadata: Dict[str, List[str]]

    @classmethod
    def from_pb(cls, msg: types_pb2.Pattern) -> "Pattern":
        return cls(name=msg.name, events=_events(msg.pattern_data), length=msg.length, frequency=msg.frequency,
                   emotives=[dict(e.values) for e in msg.emotives],
                   metadata={k: list(v.values) for k, v in msg.metadata.items()})


@dataclass(frozen=True)
class PerceptData:
    """The session's last observation, as received."""

    strings: List[str]
    vectors: List[List[float]]
    emotives: Dict[str, float]
    metadata: Dict[str, Any]
    path: List[str]

    @classmethod
    def from_pb(cls, msg: predict_pb2.PerceptData) -> "PerceptData":
        return cls(strings=list(msg.strings), vectors=[list(v.values) for v in msg.vectors],
                   emotives=dict(msg.emotives), metadata={k: _value_to_py(v) for k, v in msg.metadata.items()},
                   path=list(msg.path))


@dataclass(frozen=True)
class CognitionData:
    """The session's cognition data: predictions, current emotives, last event, STM."""

    predictions: List[Prediction]
    #: The current average of the accumulated emotives.
    emotives: Dict[str, float]
    #: The symbols of the last event.
    symbols: List[str]
    short_term_memory: Events

    @classmethod
    def from_pb(cls, msg: predict_pb2.CognitionData) -> "CognitionData":
        return cls(predictions=[Prediction.from_pb(p) for p in msg.predictions], emotives=dict(msg.emotives),
                   symbols=list(msg.symbols), short_term_memory=_events(msg.short_term_memory))


# ----------------------------------------------------------------------------- sessions

@dataclass(frozen=True)
class SessionInfo:
    """A session as the server describes it."""

    #: ``session-<32 hex>-<epoch ms>``.
    session_id: str
    node_id: str
    created_at: Optional[datetime]
    expires_at: Optional[datetime]
    #: The session's sliding time-to-live.
    ttl_seconds: int
    #: Caller metadata kept with the session.
    metadata: Dict[str, Any]
    #: The effective configuration (every field set).
    config: SessionConfig
    #: Events currently in the STM.
    stm_length: int
    #: The session's observation counter.
    time: int

    @classmethod
    def from_pb(cls, msg: session_pb2.Session) -> "SessionInfo":
        return cls(session_id=msg.session_id, node_id=msg.node_id, created_at=_timestamp(msg.created_at),
                   expires_at=_timestamp(msg.expires_at), ttl_seconds=msg.ttl_seconds,
                   metadata=_struct_to_dict(msg.metadata), config=SessionConfig.from_pb(msg.config),
                   stm_length=msg.stm_length, time=msg.time)


def _struct(metadata: Optional[Mapping[str, Any]]) -> Optional[struct_pb2.Struct]:
    if metadata is None:
        return None
    struct = struct_pb2.Struct()
    struct.update(dict(metadata))
    return struct

