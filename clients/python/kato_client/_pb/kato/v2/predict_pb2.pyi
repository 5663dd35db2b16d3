from google.protobuf import struct_pb2 as _struct_pb2
from kato_client._pb.kato.v2 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdateCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPDATE_CAUSE_UNSPECIFIED: _ClassVar[UpdateCause]
    UPDATE_CAUSE_INITIAL: _ClassVar[UpdateCause]
    UPDATE_CAUSE_OBSERVE: _ClassVar[UpdateCause]
    UPDATE_CAUSE_LEARN: _ClassVar[UpdateCause]
    UPDATE_CAUSE_AUTO_LEARN: _ClassVar[UpdateCause]
    UPDATE_CAUSE_CLEAR_STM: _ClassVar[UpdateCause]
    UPDATE_CAUSE_CLEAR_ALL: _ClassVar[UpdateCause]
    UPDATE_CAUSE_GAP: _ClassVar[UpdateCause]
UPDATE_CAUSE_UNSPECIFIED: UpdateCause
UPDATE_CAUSE_INITIAL: UpdateCause
UPDATE_CAUSE_OBSERVE: UpdateCause
UPDATE_CAUSE_LEARN: UpdateCause
UPDATE_CAUSE_AUTO_LEARN: UpdateCause
UPDATE_CAUSE_CLEAR_STM: UpdateCause
UPDATE_CAUSE_CLEAR_ALL: UpdateCause
UPDATE_CAUSE_GAP: UpdateCause

class GetPredictionsRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class GetPredictionsResponse(_message.Message):
    __slots__ = ("session_id", "predictions", "future_potentials", "count")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    FUTURE_POTENTIALS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    predictions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Prediction]
    future_potentials: _containers.RepeatedCompositeFieldContainer[_types_pb2.FuturePotential]
    count: int
    def __init__(self, session_id: _Optional[str] = ..., predictions: _Optional[_Iterable[_Union[_types_pb2.Prediction, _Mapping]]] = ..., future_potentials: _Optional[_Iterable[_Union[_types_pb2.FuturePotential, _Mapping]]] = ..., count: _Optional[int] = ...) -> None: ...

class SubscribePredictionsRequest(_message.Message):
    __slots__ = ("session_id", "node_id", "send_initial", "resume_after_sequence")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_INITIAL_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    send_initial: bool
    resume_after_sequence: int
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., send_initial: _Optional[bool] = ..., resume_after_sequence: _Optional[int] = ...) -> None: ...

class PredictionUpdate(_message.Message):
    __slots__ = ("session_id", "sequence", "cause", "stm", "predictions", "future_potentials", "time")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    STM_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    FUTURE_POTENTIALS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    sequence: int
    cause: UpdateCause
    stm: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    predictions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Prediction]
    future_potentials: _containers.RepeatedCompositeFieldContainer[_types_pb2.FuturePotential]
    time: int
    def __init__(self, session_id: _Optional[str] = ..., sequence: _Optional[int] = ..., cause: _Optional[_Union[UpdateCause, str]] = ..., stm: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ..., predictions: _Optional[_Iterable[_Union[_types_pb2.Prediction, _Mapping]]] = ..., future_potentials: _Optional[_Iterable[_Union[_types_pb2.FuturePotential, _Mapping]]] = ..., time: _Optional[int] = ...) -> None: ...

class GetPatternRequest(_message.Message):
    __slots__ = ("session_id", "node_id", "name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    name: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetPerceptDataRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class PerceptData(_message.Message):
    __slots__ = ("strings", "vectors", "emotives", "metadata", "path")
    class EmotivesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    STRINGS_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    EMOTIVES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    strings: _containers.RepeatedScalarFieldContainer[str]
    vectors: _containers.RepeatedCompositeFieldContainer[_types_pb2.Vector]
    emotives: _containers.ScalarMap[str, float]
    metadata: _containers.MessageMap[str, _struct_pb2.Value]
    path: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, strings: _Optional[_Iterable[str]] = ..., vectors: _Optional[_Iterable[_Union[_types_pb2.Vector, _Mapping]]] = ..., emotives: _Optional[_Mapping[str, float]] = ..., metadata: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., path: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCognitionDataRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class CognitionData(_message.Message):
    __slots__ = ("predictions", "emotives", "symbols", "short_term_memory")
    class EmotivesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    EMOTIVES_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    SHORT_TERM_MEMORY_FIELD_NUMBER: _ClassVar[int]
    predictions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Prediction]
    emotives: _containers.ScalarMap[str, float]
    symbols: _containers.RepeatedScalarFieldContainer[str]
    short_term_memory: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    def __init__(self, predictions: _Optional[_Iterable[_Union[_types_pb2.Prediction, _Mapping]]] = ..., emotives: _Optional[_Mapping[str, float]] = ..., symbols: _Optional[_Iterable[str]] = ..., short_term_memory: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ...) -> None: ...
