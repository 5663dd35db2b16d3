#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KatoSupport
import Logging
import Metrics
import Synchronization

/// Log lines buffered in memory and written to a file descriptor by a background thread, so a
/// log line costs its formatting and a copy, not a `write(2)` (swift-log's `StreamLogHandler`
/// flushes stderr after every line) nor a contended lock.
///
/// - **Shards.** Per-call lines (the access log) go to one of `shardCount` buffers picked by
///   the writing thread (`pthread_self`), each behind its own `Mutex`: the event-loop threads
///   (one per core) append without meeting each other; the background writer takes a shard's
///   lock only to swap its buffer out. Lines of one thread stay in order; access lines of
///   different threads may interleave out of order by up to one flush interval (each carries
///   its own timestamp). Every other line (`BufferedStreamLogHandler`) goes to one shared
///   shard, so those stay in the order they were logged.
/// - **Timestamps.** Formatted once per second per shard (`strftime`, local time, the
///   `StreamLogHandler` format), not per line.
/// - **Bounded.** A shard holds at most `maxBufferedBytes / shardCount`; when the writer falls
///   behind, new lines are dropped and counted (`kato_log_lines_dropped_total`, and a warning
///   line with the count once the writer catches up) instead of growing memory.
/// - **Flushed** every `flushInterval` (20 ms while lines arrive, 100 ms when idle), at once
///   after a line at `error` or above, on `flush()`, and at process exit (`atexit`).
public final class BufferedLogWriter: LogLineSink {
    /// The process's standard error, shared by every handler that writes there.
    public static let standardError = BufferedLogWriter(fileDescriptor: 2)

    public let fileDescriptor: Int32
    public let maxBufferedBytes: Int
    let shardCount: Int
    private let shards: [Shard]
    /// Serialises flushes (background thread, error lines, exit) so chunks reach the file in order.
    private let flushing = Mutex<Void>(())
    private let dropped = Atomic<Int>(0)

    final class Shard: Sendable {
        struct State {
            var buffer: [UInt8] = []
            /// The buffer last written out, emptied, kept for reuse (double buffering: no
            /// allocation per flush).
            var spare: [UInt8] = []
            var second = Int.min
            var stamp: [UInt8] = []
        }
        let state = Mutex(State())
    }

    public init(fileDescriptor: Int32, maxBufferedBytes: Int = 4 << 20, shardCount: Int = 8) {
        self.fileDescriptor = fileDescriptor
        self.maxBufferedBytes = maxBufferedBytes
        self.shardCount = max(2, shardCount)
        self.shards = (0..<self.shardCount).map { _ in Shard() }
        Self.register(self)
    }

    /// A line in the writing thread's shard (`LogLineSink`: the access log).
    @discardableResult
    public func appendLine(_ body: (inout [UInt8], _ timestamp: [UInt8]) -> Void) -> Bool {
        append(body)
    }

    /// Appends one line built by `body` into the calling thread's shard. `body` gets the
    /// buffer (append the line, ending with `\n`) and the current timestamp's bytes.
    /// Returns false when the line was dropped (buffer full).
    @discardableResult
    func append(ordered: Bool = false, flushNow: Bool = false, _ body: (inout [UInt8], _ timestamp: [UInt8]) -> Void) -> Bool {
        // Shard 0 keeps ordered lines; per-thread lines use the others.
        let shard = shards[ordered ? 0 : 1 + ThreadShard.index(count: shardCount - 1)]
        let limit = maxBufferedBytes / shardCount
        let now = time(nil)
        let accepted = shard.state.withLock { s -> Bool in
            guard s.buffer.count < limit else { return false }
            if s.second != now {
                s.second = now
                s.stamp = Self.timestamp(now)
            }
            if s.buffer.capacity == 0 { s.buffer.reserveCapacity(16 << 10) }
            body(&s.buffer, s.stamp)
            return true
        }
        if !accepted {
            dropped.wrappingAdd(1, ordering: .relaxed)
            Self.droppedLines.increment()
        }
        if flushNow { flush() }
        return accepted
    }

    /// Writes everything buffered so far.
    public func flush() {
        flushing.withLock { _ in
            for shard in shards {
                // Swap the buffer out (keeping a buffer of the same capacity for the next lines)
                // so the lock is held for a pointer swap, not for the write.
                var out = shard.state.withLock { s -> [UInt8] in
                    guard !s.buffer.isEmpty else { return [] }
                    var out: [UInt8] = []
                    swap(&out, &s.spare)
                    swap(&out, &s.buffer)  // buffer ← the empty spare, out ← the lines
                    return out
                }
                guard !out.isEmpty else { continue }
                writeAll(&out)
                out.removeAll(keepingCapacity: true)
                shard.state.withLock { s in
                    if s.spare.capacity < out.capacity { s.spare = out }
                }
            }
            let lost = dropped.exchange(0, ordering: .relaxed)
            if lost > 0 {
                var line = Self.timestamp(time(nil))
                line.append(contentsOf: " warning kato-server: dropped=\(lost) [KatoServer] log lines dropped: the log writer fell behind\n".utf8)
                writeAll(&line)
            }
        }
    }

    private func writeAll(_ bytes: inout [UInt8]) {
        while !bytes.isEmpty {
            let n = write(fileDescriptor, bytes, bytes.count)
            if n == bytes.count { return }
            if n > 0 {
                bytes = Array(bytes[n...])  // a short write (rare): retry with the rest
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return  // the descriptor is gone (closed pipe): nothing more to do
            }
        }
    }

    // MARK: Background flushing and exit

    private static let writers = Mutex<[BufferedLogWriter]>([])
    public static let droppedLines = Counter(label: "kato_log_lines_dropped_total")

    private static func register(_ writer: BufferedLogWriter) {
        let first = writers.withLock { list -> Bool in
            list.append(writer)
            return list.count == 1
        }
        guard first else { return }
        atexit { _ = BufferedLogWriter.flushAll() }
        let thread = Thread {
            while true {
                let busy = BufferedLogWriter.flushAll()
                usleep(busy ? 20_000 : 100_000)
            }
        }
        thread.name = "kato-log-writer"
        thread.start()
    }

    /// Flushes every writer; true when any had lines.
    @discardableResult
    static func flushAll() -> Bool {
        let list = writers.withLock { $0 }
        var busy = false
        for writer in list {
            if writer.hasBufferedLines { busy = true }
            writer.flush()
        }
        return busy
    }

    var hasBufferedLines: Bool {
        shards.contains { shard in shard.state.withLock { !$0.buffer.isEmpty } }
    }


    /// `2026-11-25T13:58:01+0000`: `StreamLogHandler`'s format (local time).
    static func timestamp(_ seconds: time_t) -> [UInt8] {
        var t = seconds
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return Array("<unknown>".utf8) }
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return buffer.prefix(n).map { UInt8(bitPattern: $0) }
    }
}

/// A swift-log handler with `StreamLogHandler`'s line format
/// (`<timestamp> <level> <label>: <metadata sorted by key> [<source>] <message>`) that writes
/// through a `BufferedLogWriter`. Lines at `error` and above are written at once.
public struct BufferedStreamLogHandler: LogHandler {
    public let label: String
    public let writer: BufferedLogWriter
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata: Logger.Metadata = [:] {
        didSet { prettyMetadata = Self.prettify(metadata) }
    }
    private var prettyMetadata: String?

    public init(label: String, writer: BufferedLogWriter = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.writer = writer
        self.metadataProvider = metadataProvider
    }

    /// The standard-error handler (`StreamLogHandler.standardError`'s drop-in).
    public static func standardError(label: String) -> BufferedStreamLogHandler {
        BufferedStreamLogHandler(label: label)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var effective = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            effective.merge(provided, uniquingKeysWith: { _, new in new })
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            effective.merge(explicit, uniquingKeysWith: { _, new in new })
        }
        if let error = event.error {
            effective["error.message"] = "\(error)"
            effective["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let pretty = effective.isEmpty ? nil : Self.prettify(effective)
        let rest = "\(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty.map { " \($0)" } ?? "") [\(event.source)] \(event.message)\n"
        writer.append(ordered: true, flushNow: event.level >= .error) { buffer, timestamp in
            buffer.append(contentsOf: timestamp)
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: rest.utf8)
        }
    }

    static func prettify(_ metadata: Logger.Metadata) -> String? {
        metadata.isEmpty ? nil : metadata.lazy.sorted(by: { $0.key < $1.key }).map { "\($0)=\($1)" }.joined(separator: " ")
    }
}
