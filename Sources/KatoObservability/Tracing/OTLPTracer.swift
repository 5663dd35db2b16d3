import KatoSupport
import Synchronization
import Tracing

/// W3C trace context of one span (https://www.w3.org/TR/trace-context/): ids as lowercase hex.
public struct W3CSpanContext: Sendable, Hashable {
    /// 32 hex digits.
    public var traceID: String
    /// 16 hex digits.
    public var spanID: String
    /// The `sampled` flag: spans of an unsampled trace are not exported.
    public var sampled: Bool
    /// The `tracestate` header, passed on unchanged.
    public var traceState: String?

    public init(traceID: String, spanID: String, sampled: Bool = true, traceState: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
        self.traceState = traceState
    }

    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` (higher versions: their first
    /// four fields); nil when malformed or when an id is all zeros.
    public init?(traceparent: String, tracestate: String? = nil) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0].allSatisfy(\.isHexDigit), parts[0].lowercased() != "ff",
            parts[0] != "00" || parts.count == 4,
            Self.isID(parts[1], length: 32), Self.isID(parts[2], length: 16),
            parts[3].count == 2, let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        self.init(traceID: parts[1].lowercased(), spanID: parts[2].lowercased(), sampled: flags & 1 == 1,
                  traceState: tracestate.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The `traceparent` header of this span.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    static func isID(_ text: Substring, length: Int) -> Bool {
        text.count == length && text.allSatisfy(\.isHexDigit) && text.contains { $0 != "0" }
    }
}

/// The current span's W3C context in a `ServiceContext` (a remote parent after `extract`).
public enum W3CSpanContextKey: ServiceContextKey {
    public typealias Value = W3CSpanContext
    public static var nameOverride: String? { "w3c-span-context" }
}

/// A swift-distributed-tracing `Tracer` whose finished spans go to an OTLP/HTTP collector
/// (`OTLPExporter`). It propagates W3C trace context: `extract` reads `traceparent` and
/// `tracestate`, a span with a parent joins the parent's trace (its `parentSpanId` is the
/// parent's span id) and keeps its sampled flag; `inject` writes both headers.
///
/// A root span (no `traceparent`) adopts the trace id of its `kato.trace_id` attribute when
/// one is set before the span's context is read, as `TraceInterceptor` does, so the exported
/// trace has the id the call returned as `x-trace-id` and logged.
public final class OTLPTracer: Tracer, Sendable {
    public typealias Span = OTLPSpan

    public let exporter: OTLPExporter

    public init(exporter: OTLPExporter) {
        self.exporter = exporter
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> OTLPSpan {
        var context = context()
        let parent = context[W3CSpanContextKey.self]
        let own = W3CSpanContext(
            traceID: parent?.traceID ?? UniqueIDs.hex128(), spanID: UniqueIDs.hex64(),
            sampled: parent?.sampled ?? true, traceState: parent?.traceState)
        context[W3CSpanContextKey.self] = own
        return OTLPSpan(
            name: operationName, kind: kind, context: context, spanContext: own, parentSpanID: parent?.spanID,
            start: instant().nanosecondsSinceEpoch, exporter: own.sampled ? exporter : nil)
    }

    public func forceFlush() {
        exporter.flushSoon()
    }

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract: Extractor, Carrier == Extract.Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier),
            let remote = W3CSpanContext(traceparent: header, tracestate: extractor.extract(key: "tracestate", from: carrier))
        else { return }
        context[W3CSpanContextKey.self] = remote
    }

    public func inject<Carrier, Inject>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Carrier == Inject.Carrier {
        guard let span = context[W3CSpanContextKey.self] else { return }
        injector.inject(span.traceparent, forKey: "traceparent", into: &carrier)
        if let state = span.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }
}

/// A span of `OTLPTracer`; ending it hands one `OTLPSpanData` to the exporter's queue (never
/// blocks). Spans of unsampled traces record nothing.
public final class OTLPSpan: Tracing.Span, Sendable {
    struct State {
        var name: String
        var context: ServiceContext
        var spanContext: W3CSpanContext
        var attributes = SpanAttributes()
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var links: [W3CSpanContext] = []
        var ended = false
    }

    let kind: SpanKind
    let parentSpanID: String?
    let start: UInt64
    /// nil: not recording (unsampled).
    let exporter: OTLPExporter?
    let state: Mutex<State>

    init(name: String, kind: SpanKind, context: ServiceContext, spanContext: W3CSpanContext, parentSpanID: String?,
         start: UInt64, exporter: OTLPExporter?) {
        self.kind = kind
        self.parentSpanID = parentSpanID
        self.start = start
        self.exporter = exporter
        state = Mutex(State(name: name, context: context, spanContext: spanContext))
    }

    public var context: ServiceContext { state.withLock { $0.context } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    public var isRecording: Bool { exporter != nil && !state.withLock { $0.ended } }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            let root = parentSpanID == nil
            state.withLock { s in
                s.attributes = newValue
                // A root span takes the call's trace id (see OTLPTracer).
                if root, case .string(let id)? = newValue["kato.trace_id"]?.toSpanAttribute(),
                    id != s.spanContext.traceID, W3CSpanContext.isID(Substring(id), length: 32)
                {
                    s.spanContext.traceID = id.lowercased()
                    s.context[W3CSpanContextKey.self] = s.spanContext
                }
            }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.status = status }
    }

    public func addEvent(_ event: SpanEvent) {
        guard exporter != nil else { return }
        state.withLock { s in
            if s.events.count < OTLPSpanData.maxEvents { s.events.append(event) }
        }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        guard exporter != nil else { return }
        var attributes = attributes
        attributes["exception.type"] = String(reflecting: type(of: error))
        attributes["exception.message"] = String(describing: error)
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: attributes))
    }

    public func addLink(_ link: SpanLink) {
        guard exporter != nil, let other = link.context[W3CSpanContextKey.self] else { return }
        state.withLock { s in
            if s.links.count < OTLPSpanData.maxEvents { s.links.append(other) }
        }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        let data: OTLPSpanData? = state.withLock { s in
            guard !s.ended else { return nil }
            s.ended = true
            guard exporter != nil else { return nil }
            return OTLPSpanData(
                name: s.name, kind: kind, context: s.spanContext, parentSpanID: parentSpanID, start: start, end: end,
                attributes: s.attributes, status: s.status, events: s.events, links: s.links)
        }
        if let data { exporter?.enqueue(data) }
    }
}

/// A finished span as the exporter queues it.
public struct OTLPSpanData: Sendable {
    static let maxEvents = 128

    public var name: String
    public var kind: SpanKind
    public var context: W3CSpanContext
    public var parentSpanID: String?
    public var start: UInt64
    public var end: UInt64
    public var attributes: SpanAttributes
    public var status: SpanStatus?
    public var events: [SpanEvent]
    public var links: [W3CSpanContext]
}

