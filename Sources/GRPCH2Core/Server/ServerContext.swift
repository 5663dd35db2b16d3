import ProtobufCBridge
import Synchronization

/// What a handler knows about its call: request metadata, deadline, peer, and the metadata
/// it sends back. A value type; the call's fixed facts and the mutable response metadata live
/// in one shared object, so a copy (a context passes through several closures and frames per
/// call) retains one reference instead of a dozen.
public struct ServerContext: Sendable {
    /// The full method path, e.g. `/kato.v2.ObserveService/Observe`.
    public var path: String { call.path }
    /// Request metadata (custom headers; reserved gRPC/HTTP headers removed).
    public var requestMetadata: Metadata { call.requestMetadata }
    /// When the call must end, from `grpc-timeout`; nil when the client set none.
    public var deadline: ContinuousClock.Instant? { call.deadline }
    /// The peer's address, e.g. `ipv4:127.0.0.1:53412`.
    public var peer: String { call.peer }
    /// The client certificate of a mutual-TLS connection (verified against the client CA);
    /// nil without TLS, without a client CA, or when the client sent none. One object per
    /// connection, shared by its calls.
    public var peerCertificate: PeerCertificate? { call.peerCertificate }
    /// The protocol that carried the call: `grpc`, `grpc-web`, `grpc-web-text` or `connect`
    /// (for metrics and logs; handlers see the same call whatever carried it).
    public var wireProtocol: String { call.wireProtocol }
    /// Values interceptors attach for handlers downstream (principal, trace id, …).
    public var attributes: Attributes
    /// The kind of the called method (unary, server-, client- or bidirectional streaming).
    public package(set) var kind: CallKind = .unary
    /// Hooks run for every request message the handler reads and every response message it
    /// sends; nil (the default) costs nothing. Set with `observeMessages(_:)`.
    public private(set) var messageObserver: MessageObserver?
    package let call: CallState

    package init(path: String, requestMetadata: Metadata, deadline: ContinuousClock.Instant?, peer: String,
         peerCertificate: PeerCertificate? = nil, kind: CallKind = .unary, wireProtocol: String = "grpc") {
        self.call = CallState(
            path: path, requestMetadata: requestMetadata, deadline: deadline, peer: peer, peerCertificate: peerCertificate,
            wireProtocol: wireProtocol)
        self.attributes = Attributes()
        self.kind = kind
    }

    /// The service part of the path (`kato.v2.ObserveService`).
    public var serviceName: Substring {
        let trimmed = path.dropFirst()
        return trimmed.split(separator: "/", maxSplits: 1).first ?? ""
    }

    /// The method part of the path (`Observe`).
    public var methodName: Substring {
        path.split(separator: "/").last ?? ""
    }

    /// Time left until the deadline (nil when there is none; zero or negative when passed).
    public var timeRemaining: Duration? {
        deadline.map { $0 - ContinuousClock.now }
    }

    /// Adds `observer` after any observer already installed by an outer interceptor. The
    /// handler called with this context sees its messages pass through the observer.
    public mutating func observeMessages(_ observer: MessageObserver) {
        messageObserver = messageObserver.map { $0.followed(by: observer) } ?? observer
    }

    /// Adds initial metadata; it is sent with the response headers (before the first message).
    public func addInitialMetadata(_ metadata: Metadata) {
        call.state.withLock { $0.initial.append(contentsOf: metadata) }
    }

    /// Adds trailing metadata, sent with the status.
    public func addTrailingMetadata(_ metadata: Metadata) {
        call.state.withLock { $0.trailing.append(contentsOf: metadata) }
    }

    /// Adds one string entry to the trailing metadata (without building a `Metadata` first).
    public func addTrailingMetadata(_ value: String, forKey key: String) {
        let key = Metadata.lowercased(key)
        call.state.withLock { $0.trailing.addString(value, lowercasedKey: key) }
    }

    /// Typed key-value storage carried along the interceptor chain.
    ///
    /// A call carries one or two attributes, so they are a list searched in order rather than a
    /// dictionary, and the first lives inline: attaching one costs no allocation and reading it
    /// no hashing (both were per-call costs on the unary hot path).
    public struct Attributes: Sendable {
        @usableFromInline
        struct Entry: Sendable {
            @usableFromInline let key: ObjectIdentifier
            /// A class instance as it is, any other value in a `Box`: read back with an
            /// unchecked cast, since the key's type fixes the value's (a checked cast from
            /// `any Sendable` is a runtime dynamic cast, ~260 instructions per read, and every
            /// interceptor of a call reads the attribute it keeps its state in).
            @usableFromInline var value: any AnyObject & Sendable

            @usableFromInline
            init(key: ObjectIdentifier, value: any AnyObject & Sendable) {
                self.key = key
                self.value = value
            }
        }

        @usableFromInline
        final class Box<Value: Sendable>: Sendable {
            @usableFromInline let value: Value
            @usableFromInline init(_ value: Value) { self.value = value }
        }

        @usableFromInline var first: Entry?
        @usableFromInline var more: [Entry] = []

        public init() {}

        /// Whether `Value` is stored as it is (a class reference, one pointer wide).
        @inlinable
        static func isReference<Value>(_: Value.Type) -> Bool {
            Value.self is AnyObject.Type && MemoryLayout<Value>.size == MemoryLayout<AnyObject>.size
        }

        @inlinable
        static func wrap<Value: Sendable>(_ value: Value) -> any AnyObject & Sendable {
            isReference(Value.self) ? unsafeBitCast(value, to: (any AnyObject & Sendable).self) : Box(value)
        }

        @inlinable
        static func unwrap<Value: Sendable>(_ stored: any AnyObject & Sendable, as _: Value.Type) -> Value {
            isReference(Value.self) ? unsafeBitCast(stored, to: Value.self) : unsafeDowncast(stored, to: Box<Value>.self).value
        }

        // Inlinable: specialized for each key type in the caller's module (unspecialized, a
        // read or write went through runtime generic metadata, ~1.5k instructions).
        @inlinable
        public subscript<Key: AttributeKey>(_ key: Key.Type) -> Key.Value? {
            get {
                let id = ObjectIdentifier(key)
                if let first, first.key == id { return Self.unwrap(first.value, as: Key.Value.self) }
                for entry in more where entry.key == id { return Self.unwrap(entry.value, as: Key.Value.self) }
                return nil
            }
            set {
                let id = ObjectIdentifier(key)
                if let newValue {
                    set(id, Self.wrap(newValue))
                } else {
                    remove(id)
                }
            }
        }

        @inlinable
        mutating func set(_ id: ObjectIdentifier, _ value: any AnyObject & Sendable) {
            if first == nil || first?.key == id {
                first = Entry(key: id, value: value)
            } else if let index = more.firstIndex(where: { $0.key == id }) {
                more[index].value = value
            } else {
                more.append(Entry(key: id, value: value))
            }
        }

        @usableFromInline
        mutating func remove(_ id: ObjectIdentifier) {
            if first?.key == id {
                first = more.isEmpty ? nil : more.removeFirst()
            } else if let index = more.firstIndex(where: { $0.key == id }) {
                more.remove(at: index)
            }
        }
    }
}

/// A key of `ServerContext.Attributes`.
public protocol AttributeKey {
    associatedtype Value: Sendable
}

/// One call's fixed facts and the metadata its handler sends back (see `ServerContext`).
package final class CallState: Sendable {
    package let path: String
    package let requestMetadata: Metadata
    package let deadline: ContinuousClock.Instant?
    package let peer: String
    package let peerCertificate: PeerCertificate?
    package let wireProtocol: String

    init(path: String, requestMetadata: Metadata, deadline: ContinuousClock.Instant?, peer: String,
         peerCertificate: PeerCertificate?, wireProtocol: String) {
        self.path = path
        self.requestMetadata = requestMetadata
        self.deadline = deadline
        self.peer = peer
        self.peerCertificate = peerCertificate
        self.wireProtocol = wireProtocol
    }

    package struct State {
        package var initial = Metadata()
        package var trailing = Metadata()
    }

    package let state = Mutex(State())
}
