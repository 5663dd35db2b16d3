/// Where a log line can be written as bytes, bypassing swift-log's formatting: the
/// executable's log backend (`KatoObservability`'s `BufferedLogWriter`) offers it, and
/// `TraceInterceptor` writes its per-call access-log line through it, formatted exactly as
/// the backend's handler would (a `Logger.Metadata` dictionary built and sorted per call
/// cost more than the rest of the line). A protocol here, so that KatoServer needs only the
/// swift-log facade and this, never the backend.
public protocol LogLineSink: Sendable {
    /// Appends one line: `body` gets the buffer and the line's timestamp, as the backend
    /// formats it. False when the line was dropped (the backend is behind).
    @discardableResult
    func appendLine(_ body: (inout [UInt8], _ timestamp: [UInt8]) -> Void) -> Bool
}
