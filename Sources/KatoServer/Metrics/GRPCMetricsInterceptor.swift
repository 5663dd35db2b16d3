import GRPCH2
import KatoSupport
import Metrics
import ProtobufCBridge
import Synchronization

/// The server metrics of go-grpc-prometheus, through swift-metrics:
/// `grpc_server_started_total`, `grpc_server_handled_total` (with `grpc_code`),
/// `grpc_server_handling_seconds` (a histogram with the Prometheus backend),
/// `grpc_server_msg_received_total` and `grpc_server_msg_sent_total`, each labelled
/// `grpc_type`, `grpc_service`, `grpc_method`, and `protocol`: the wire protocol the call came
/// in on (`grpc`, `grpc-web`, `grpc-web-text`, `connect`; `ServerContext.wireProtocol`).
///
/// Handles are made once per method (`bound(to:)`), so a call only bumps counters. Message
/// counts come from a `MessageObserver`, which GRPCH2Core runs as the handler reads and
/// writes: inside the interceptors after this one, so a call they refuse counts none.
public final class GRPCMetricsInterceptor: MethodBoundInterceptor {
    public func bound(to method: ServerMethod.Info) -> MethodMetrics? {
        metrics(path: method.path, kind: method.kind)
    }

    /// One method's metrics over one wire protocol: the interceptor bound to the method is its
    /// gRPC one, which hands calls of the web protocols to their own (made on first use, so a
    /// gRPC call pays one string comparison for the label).
    public final class MethodMetrics: StagedInterceptor {
        let service: String
        let method: String
        let kind: CallKind
        let wireProtocol: String
        let dimensions: [(String, String)]
        let started: Counter
        let handling: Metrics.Timer
        let ok: Counter
        let received: Counter
        let sent: Counter
        let observer: MessageObserver
        let handled = Mutex<[Int: Counter]>([:])
        let otherProtocols = Mutex<[String: MethodMetrics]>([:])

        init(service: String, method: String, kind: CallKind, wireProtocol: String = "grpc") {
            self.service = service
            self.method = method
            self.kind = kind
            self.wireProtocol = wireProtocol
            dimensions = [("grpc_type", kind.prometheusName), ("grpc_service", service), ("grpc_method", method),
                          ("protocol", wireProtocol)]
            started = Counter(label: "grpc_server_started_total", dimensions: dimensions)
            handling = Metrics.Timer(label: "grpc_server_handling_seconds", dimensions: dimensions)
            ok = Counter(label: "grpc_server_handled_total", dimensions: dimensions + [("grpc_code", StatusCode.ok.prometheusName)])
            let received = Counter(label: "grpc_server_msg_received_total", dimensions: dimensions)
            let sent = Counter(label: "grpc_server_msg_sent_total", dimensions: dimensions)
            self.received = received
            self.sent = sent
            observer = MessageObserver(received: { received.increment() }, sent: { sent.increment() })
        }

        /// The metrics the call counts into (this method's over the call's protocol) and
        /// the `CallClock` time it started.
        public struct Started {
            let metrics: MethodMetrics
            let start: Int64
        }

        @inline(__always)  // into the composed stages (`ComposedStages`)
        public func before(_ context: inout ServerContext) -> InterceptorStep<Started> {
            let metrics = context.wireProtocol == wireProtocol ? self : over(context.wireProtocol)
            metrics.started.increment()
            context.observeMessages(metrics.observer)
            return .proceed(Started(metrics: metrics, start: CallClock.now()))
        }

        @inline(__always)
        public func succeeded(_ call: Started, context: ServerContext) {
            call.metrics.succeeded(nanoseconds: CallClock.now() - call.start)
        }

        @inline(__always)
        public func failed(_ call: Started, context: ServerContext, error: any Error) -> any Error {
            call.metrics.failed(GRPCMetricsInterceptor.code(of: error, context), nanoseconds: CallClock.now() - call.start)
            return error
        }

        /// This method's metrics for calls over `other` protocol.
        func over(_ other: String) -> MethodMetrics {
            otherProtocols.value(for: other) {
                MethodMetrics(service: service, method: method, kind: kind, wireProtocol: other)
            }
        }

        /// A call that ended with OK after `nanoseconds`.
        func succeeded(nanoseconds: Int64) {
            handling.recordNanoseconds(nanoseconds)
            ok.increment()
        }

        /// A call that ended with `code` (not OK) after `nanoseconds`.
        func failed(_ code: StatusCode, nanoseconds: Int64) {
            handling.recordNanoseconds(nanoseconds)
            handled(code).increment()
        }

        func handled(_ code: StatusCode) -> Counter {
            if code == .ok { return ok }
            return handled.value(for: code.rawValue) {
                Counter(label: "grpc_server_handled_total", dimensions: dimensions + [("grpc_code", code.prometheusName)])
            }
        }
    }

    let methods: [String: MethodMetrics]
    let unknown = Mutex<[String: MethodMetrics]>([:])

    /// Prepares the metrics of every method of `services`.
    public init(services: [any ServiceProvider]) {
        var methods: [String: MethodMetrics] = [:]
        for service in services {
            for m in service.methods {
                let name = m.path.split(separator: "/").last.map(String.init) ?? m.path
                methods[m.path] = MethodMetrics(service: service.serviceName, method: name, kind: m.kind)
            }
        }
        self.methods = methods
    }

    func metrics(for context: ServerContext) -> MethodMetrics {
        metrics(path: context.path, kind: context.kind)
    }

    /// The metrics of the method at `path` (made on first use for a method not listed at init).
    func metrics(path: String, kind: CallKind) -> MethodMetrics {
        if let m = methods[path] { return m }
        return unknown.value(for: path) {
            let p = MethodPath(path)
            return MethodMetrics(service: String(p.service), method: String(p.method), kind: kind)
        }
    }

    /// The status the peer gets: a handler cut short by its deadline reports DEADLINE_EXCEEDED.
    static func code(of error: any Error, _ context: ServerContext) -> StatusCode {
        DeadlineStatus.resolve(RPCError(mapping: error).code, deadline: context.deadline)
    }
}

extension Mutex {
    /// The table's entry for `key`, made by `make` and kept on first use (the metric handles
    /// made lazily: a status code's counter, a protocol's or an unlisted method's metrics).
    fileprivate func value<Key: Hashable & Sendable, Entry: Sendable>(for key: Key, orMake make: () -> Entry) -> Entry where Value == [Key: Entry] {
        withLock { table in
            if let entry = table[key] { return entry }
            let entry = make()
            table[key] = entry
            return entry
        }
    }
}
