from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StmMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STM_MODE_UNSPECIFIED: _ClassVar[StmMode]
    STM_MODE_CLEAR: _ClassVar[StmMode]
    STM_MODE_ROLLING: _ClassVar[StmMode]
STM_MODE_UNSPECIFIED: StmMode
STM_MODE_CLEAR: StmMode
STM_MODE_ROLLING: StmMode

class Event(_message.Message):
    __slots__ = ("symbols",)
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, symbols: _Optional[_Iterable[str]] = ...) -> None: ...

class Vector(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("strings", "vectors", "emotives", "metadata", "unique_id")
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
    UNIQUE_ID_FIELD_NUMBER: _ClassVar[int]
    strings: _containers.RepeatedScalarFieldContainer[str]
    vectors: _containers.RepeatedCompositeFieldContainer[Vector]
    emotives: _containers.ScalarMap[str, float]
    metadata: _containers.MessageMap[str, _struct_pb2.Value]
    unique_id: str
    def __init__(self, strings: _Optional[_Iterable[str]] = ..., vectors: _Optional[_Iterable[_Union[Vector, _Mapping]]] = ..., emotives: _Optional[_Mapping[str, float]] = ..., metadata: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., unique_id: _Optional[str] = ...) -> None: ...

class SessionConfig(_message.Message):
    __slots__ = ("max_pattern_length", "persistence", "recall_threshold", "stm_mode", "indexer_type", "max_predictions", "sort_symbols", "process_predictions")
    MAX_PATTERN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PERSISTENCE_FIELD_NUMBER: _ClassVar[int]
    RECALL_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    STM_MODE_FIELD_NUMBER: _ClassVar[int]
    INDEXER_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    SORT_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    max_pattern_length: _wrappers_pb2.Int64Value
    persistence: _wrappers_pb2.Int64Value
    recall_threshold: _wrappers_pb2.DoubleValue
    stm_mode: StmMode
    indexer_type: _wrappers_pb2.StringValue
    max_predictions: _wrappers_pb2.Int64Value
    sort_symbols: _wrappers_pb2.BoolValue
    process_predictions: _wrappers_pb2.BoolValue
    def __init__(self, max_pattern_length: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ..., persistence: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ..., recall_threshold: _Optional[_Union[_wrappers_pb2.DoubleValue, _Mapping]] = ..., stm_mode: _Optional[_Union[StmMode, str]] = ..., indexer_type: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., max_predictions: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ..., sort_symbols: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., process_predictions: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("type", "name", "frequency", "emotives", "matches", "past", "present", "future", "missing", "extras", "sequence", "similarity", "evidence", "confidence", "fragmentation", "snr", "entropy", "normalized_entropy", "global_normalized_entropy", "confluence", "potential", "predictive_information", "itfdf_similarity", "pattern_probability", "weighted_strength")
    class EmotivesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    EMOTIVES_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    PAST_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    FUTURE_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    EXTRAS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTATION_FIELD_NUMBER: _ClassVar[int]
    SNR_FIELD_NUMBER: _ClassVar[int]
    ENTROPY_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_NORMALIZED_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    CONFLUENCE_FIELD_NUMBER: _ClassVar[int]
    POTENTIAL_FIELD_NUMBER: _ClassVar[int]
    PREDICTIVE_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    ITFDF_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    PATTERN_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    frequency: int
    emotives: _containers.ScalarMap[str, float]
    matches: _containers.RepeatedScalarFieldContainer[str]
    past: _containers.RepeatedCompositeFieldContainer[Event]
    present: _containers.RepeatedCompositeFieldContainer[Event]
    future: _containers.RepeatedCompositeFieldContainer[Event]
    missing: _containers.RepeatedCompositeFieldContainer[Event]
    extras: _containers.RepeatedCompositeFieldContainer[Event]
    sequence: _containers.RepeatedCompositeFieldContainer[Event]
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
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., frequency: _Optional[int] = ..., emotives: _Optional[_Mapping[str, float]] = ..., matches: _Optional[_Iterable[str]] = ..., past: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., present: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., future: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., missing: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., extras: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., sequence: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., similarity: _Optional[float] = ..., evidence: _Optional[float] = ..., confidence: _Optional[float] = ..., fragmentation: _Optional[float] = ..., snr: _Optional[float] = ..., entropy: _Optional[float] = ..., normalized_entropy: _Optional[float] = ..., global_normalized_entropy: _Optional[float] = ..., confluence: _Optional[float] = ..., potential: _Optional[float] = ..., predictive_information: _Optional[float] = ..., itfdf_similarity: _Optional[float] = ..., pattern_probability: _Optional[float] = ..., weighted_strength: _Optional[float] = ...) -> None: ...

class FuturePotential(_message.Message):
    __slots__ = ("future", "aggregate_potential", "supporting_patterns", "total_weighted_frequency")
    FUTURE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_POTENTIAL_FIELD_NUMBER: _ClassVar[int]
    SUPPORTING_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_WEIGHTED_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    future: _containers.RepeatedCompositeFieldContainer[Event]
    aggregate_potential: float
    supporting_patterns: int
    total_weighted_frequency: float
    def __init__(self, future: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., aggregate_potential: _Optional[float] = ..., supporting_patterns: _Optional[int] = ..., total_weighted_frequency: _Optional[float] = ...) -> None: ...

class EmotiveProfile(_message.Message):
    __slots__ = ("values",)
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.ScalarMap[str, float]
    def __init__(self, values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class Pattern(_message.Message):
    __slots__ = ("name", "pattern_data", "length", "frequency", "emotives", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: StringList
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[StringList, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATTERN_DATA_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    EMOTIVES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    pattern_data: _containers.RepeatedCompositeFieldContainer[Event]
    length: int
    frequency: int
    emotives: _containers.RepeatedCompositeFieldContainer[EmotiveProfile]
    metadata: _containers.MessageMap[str, StringList]
    def __init__(self, name: _Optional[str] = ..., pattern_data: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., length: _Optional[int] = ..., frequency: _Optional[int] = ..., emotives: _Optional[_Iterable[_Union[EmotiveProfile, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, StringList]] = ...) -> None: ...
