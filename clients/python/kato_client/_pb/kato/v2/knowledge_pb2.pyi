from kato_client._pb.kato.v2 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PatternOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PATTERN_ORDER_UNSPECIFIED: _ClassVar[PatternOrder]
    PATTERN_ORDER_FREQUENCY_DESC: _ClassVar[PatternOrder]
    PATTERN_ORDER_NAME: _ClassVar[PatternOrder]
    PATTERN_ORDER_LENGTH_DESC: _ClassVar[PatternOrder]
    PATTERN_ORDER_LEARNED: _ClassVar[PatternOrder]
PATTERN_ORDER_UNSPECIFIED: PatternOrder
PATTERN_ORDER_FREQUENCY_DESC: PatternOrder
PATTERN_ORDER_NAME: PatternOrder
PATTERN_ORDER_LENGTH_DESC: PatternOrder
PATTERN_ORDER_LEARNED: PatternOrder

class ListPatternsRequest(_message.Message):
    __slots__ = ("node_id", "page_size", "page_token", "order", "symbol", "name_prefix")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    page_size: int
    page_token: str
    order: PatternOrder
    symbol: str
    name_prefix: str
    def __init__(self, node_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order: _Optional[_Union[PatternOrder, str]] = ..., symbol: _Optional[str] = ..., name_prefix: _Optional[str] = ...) -> None: ...

class ListPatternsResponse(_message.Message):
    __slots__ = ("patterns", "next_page_token", "total_size")
    PATTERNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    patterns: _containers.RepeatedCompositeFieldContainer[_types_pb2.Pattern]
    next_page_token: str
    total_size: int
    def __init__(self, patterns: _Optional[_Iterable[_Union[_types_pb2.Pattern, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetKnowledgeBaseStatisticsRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class KnowledgeBaseStatistics(_message.Message):
    __slots__ = ("node_id", "pattern_count", "symbol_count", "total_frequency", "length_distribution", "top_symbols")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    LENGTH_DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    TOP_SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    pattern_count: int
    symbol_count: int
    total_frequency: int
    length_distribution: _containers.RepeatedCompositeFieldContainer[LengthCount]
    top_symbols: _containers.RepeatedCompositeFieldContainer[SymbolCount]
    def __init__(self, node_id: _Optional[str] = ..., pattern_count: _Optional[int] = ..., symbol_count: _Optional[int] = ..., total_frequency: _Optional[int] = ..., length_distribution: _Optional[_Iterable[_Union[LengthCount, _Mapping]]] = ..., top_symbols: _Optional[_Iterable[_Union[SymbolCount, _Mapping]]] = ...) -> None: ...

class LengthCount(_message.Message):
    __slots__ = ("length", "patterns")
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    PATTERNS_FIELD_NUMBER: _ClassVar[int]
    length: int
    patterns: int
    def __init__(self, length: _Optional[int] = ..., patterns: _Optional[int] = ...) -> None: ...

class SymbolCount(_message.Message):
    __slots__ = ("symbol", "frequency", "pattern_member_frequency")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    PATTERN_MEMBER_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    frequency: int
    pattern_member_frequency: int
    def __init__(self, symbol: _Optional[str] = ..., frequency: _Optional[int] = ..., pattern_member_frequency: _Optional[int] = ...) -> None: ...

class DeletePatternRequest(_message.Message):
    __slots__ = ("node_id", "name")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeletePatternResponse(_message.Message):
    __slots__ = ("node_id", "name", "pattern_count")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATTERN_COUNT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    pattern_count: int
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ..., pattern_count: _Optional[int] = ...) -> None: ...

class DeleteKnowledgeBaseRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class DeleteKnowledgeBaseResponse(_message.Message):
    __slots__ = ("node_id", "patterns_deleted", "symbols_deleted")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERNS_DELETED_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_DELETED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    patterns_deleted: int
    symbols_deleted: int
    def __init__(self, node_id: _Optional[str] = ..., patterns_deleted: _Optional[int] = ..., symbols_deleted: _Optional[int] = ...) -> None: ...
