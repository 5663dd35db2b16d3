from google.protobuf import struct_pb2 as _struct_pb2
from kato_client._pb.kato.v2 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ObserveRequest(_message.Message):
    __slots__ = ("session_id", "node_id", "strings", "vectors", "emotives", "metadata", "unique_id")
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
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STRINGS_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    EMOTIVES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    strings: _containers.RepeatedScalarFieldContainer[str]
    vectors: _containers.RepeatedCompositeFieldContainer[_types_pb2.Vector]
    emotives: _containers.ScalarMap[str, float]
    metadata: _containers.MessageMap[str, _struct_pb2.Value]
    unique_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., strings: _Optional[_Iterable[str]] = ..., vectors: _Optional[_Iterable[_Union[_types_pb2.Vector, _Mapping]]] = ..., emotives: _Optional[_Mapping[str, float]] = ..., metadata: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., unique_id: _Optional[str] = ...) -> None: ...

class ObserveResponse(_message.Message):
    __slots__ = ("status", "session_id", "node_id", "stm_length", "time", "unique_id", "auto_learned_pattern", "symbols", "sequence_position", "auto_learn_skipped")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STM_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    AUTO_LEARNED_PATTERN_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_POSITION_FIELD_NUMBER: _ClassVar[int]
    AUTO_LEARN_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    status: str
    session_id: str
    node_id: str
    stm_length: int
    time: int
    unique_id: str
    auto_learned_pattern: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    sequence_position: int
    auto_learn_skipped: bool
    def __init__(self, status: _Optional[str] = ..., session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., stm_length: _Optional[int] = ..., time: _Optional[int] = ..., unique_id: _Optional[str] = ..., auto_learned_pattern: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., sequence_position: _Optional[int] = ..., auto_learn_skipped: _Optional[bool] = ...) -> None: ...

class ObserveSequenceRequest(_message.Message):
    __slots__ = ("session_id", "node_id", "observations", "learn_after_each", "learn_at_end", "clear_stm_between")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    LEARN_AFTER_EACH_FIELD_NUMBER: _ClassVar[int]
    LEARN_AT_END_FIELD_NUMBER: _ClassVar[int]
    CLEAR_STM_BETWEEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    observations: _containers.RepeatedCompositeFieldContainer[_types_pb2.Observation]
    learn_after_each: bool
    learn_at_end: bool
    clear_stm_between: bool
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., observations: _Optional[_Iterable[_Union[_types_pb2.Observation, _Mapping]]] = ..., learn_after_each: _Optional[bool] = ..., learn_at_end: _Optional[bool] = ..., clear_stm_between: _Optional[bool] = ...) -> None: ...

class ObserveSequenceResponse(_message.Message):
    __slots__ = ("status", "session_id", "observations_processed", "initial_stm_length", "final_stm_length", "results", "auto_learned_patterns", "final_learned_pattern")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STM_LENGTH_FIELD_NUMBER: _ClassVar[int]
    FINAL_STM_LENGTH_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    AUTO_LEARNED_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    FINAL_LEARNED_PATTERN_FIELD_NUMBER: _ClassVar[int]
    status: str
    session_id: str
    observations_processed: int
    initial_stm_length: int
    final_stm_length: int
    results: _containers.RepeatedCompositeFieldContainer[ObserveResponse]
    auto_learned_patterns: _containers.RepeatedScalarFieldContainer[str]
    final_learned_pattern: str
    def __init__(self, status: _Optional[str] = ..., session_id: _Optional[str] = ..., observations_processed: _Optional[int] = ..., initial_stm_length: _Optional[int] = ..., final_stm_length: _Optional[int] = ..., results: _Optional[_Iterable[_Union[ObserveResponse, _Mapping]]] = ..., auto_learned_patterns: _Optional[_Iterable[str]] = ..., final_learned_pattern: _Optional[str] = ...) -> None: ...

class GetShortTermMemoryRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class ShortTermMemory(_message.Message):
    __slots__ = ("session_id", "events", "length")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    events: _containers.RepeatedCompositeFieldContainer[_types_pb2.Event]
    length: int
    def __init__(self, session_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_types_pb2.Event, _Mapping]]] = ..., length: _Optional[int] = ...) -> None: ...

class ClearShortTermMemoryRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class ClearShortTermMemoryResponse(_message.Message):
    __slots__ = ("status", "session_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    status: str
    session_id: str
    def __init__(self, status: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class LearnRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class LearnResponse(_message.Message):
    __slots__ = ("status", "session_id", "pattern_name", "message")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERN_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    status: str
    session_id: str
    pattern_name: str
    message: str
    def __init__(self, status: _Optional[str] = ..., session_id: _Optional[str] = ..., pattern_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ClearAllMemoryRequest(_message.Message):
    __slots__ = ("session_id", "node_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    node_id: str
    def __init__(self, session_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class ClearAllMemoryResponse(_message.Message):
    __slots__ = ("status", "session_id", "node_id", "scope")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    status: str
    session_id: str
    node_id: str
    scope: str
    def __init__(self, status: _Optional[str] = ..., session_id: _Optional[str] = ..., node_id: _Optional[str] = ..., scope: _Optional[str] = ...) -> None: ...
