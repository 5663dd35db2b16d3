import GRPCH2Core
import CNGHTTP2
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Events nghttp2 reports while it parses input or asks for output, delivered synchronously
/// from inside `receive(_:)` / `send()` on the connection's event loop.
protocol NGHTTP2SessionDelegate: AnyObject {
    func http2BeginHeaders(streamID: Int32, isRequest: Bool)
    /// `name` and `value` are decoded only if the delegate asks for them: most request
    /// headers are recognised by `token` alone, and most are dropped. `size` is the field's
    /// share of the header list size (RFC 9113 §6.5.2: name and value length plus 32).
    func http2Header(streamID: Int32, token: HeaderToken, size: Int, name: @autoclosure () -> String,
                     value: @autoclosure () -> String)
    func http2HeadersComplete(streamID: Int32, endStream: Bool)
    /// `bytes` is handed over (consuming) so a deframer can adopt it without a copy.
    func http2Data(streamID: Int32, bytes: consuming [UInt8])
    func http2EndOfData(streamID: Int32)
    func http2StreamClosed(streamID: Int32, errorCode: UInt32)
    func http2BodyChunk(streamID: Int32, maxLength: Int) -> BodyChunk
    func http2GoAwayReceived(lastStreamID: Int32, errorCode: UInt32)
    func http2PingAckReceived()
}

/// An nghttp2 failure code, as a typed error.
struct NGHTTP2Error: Error, CustomStringConvertible {
    let code: Int32
    var isFatal: Bool { code < NGHTTP2_ERR_FATAL.rawValue }
    var description: String { "nghttp2: \(String(cString: nghttp2_strerror(code)))" }
}

/// HTTP/2 settings a session advertises and applies locally.
struct HTTP2SessionSettings: Sendable, Hashable {
    var maxConcurrentStreams: UInt32
    var initialStreamWindow: UInt32
    var connectionWindow: Int32
    var maxFrameSize: UInt32
    var maxHeaderListSize: UInt32
    /// CONTINUATION frames accepted after one HEADERS frame (nghttp2's flood guard, default 8).
    var maxContinuations: Int = 8
    /// RST_STREAMs received before GOAWAY: a burst, then a rate per second (nghttp2: 1,000 / 33).
    var streamResetBurst: UInt64 = 1000
    var streamResetsPerSecond: UInt64 = 33
}

/// The one owner of an `nghttp2_session *`: every C pointer of libnghttp2 lives here and
/// C return codes become `NGHTTP2Error`. Not thread-safe: use it on its event loop only.
final class NGHTTP2Session {
    private var session: OpaquePointer?
    /// Strong, and a `let`: a callback then borrows it from the session it was lent, while
    /// `unowned(unsafe)` still cost a retain/release around every callback (~25 per call).
    /// The cycle with the delegate (which owns this session) ends when the delegate calls
    /// `close()` and drops its reference, as both connection handlers do on teardown.
    let delegate: any NGHTTP2SessionDelegate
    /// nghttp2 calls `session_close` only after the last callback; a C callback must never
    /// find a released object, so the session retains itself as user data until `close()`.
    private var selfRetain: Unmanaged<NGHTTP2Session>?
    /// nghttp2's own allocations come from here; outlives the C session (freed in `deinit`).
    private let pool = NGHTTP2Pool()
    /// Buffers `withNameValues` reuses, so submitting headers allocates nothing here.
    private var nameValueScratch = NameValueScratch()
    /// Header values recently decoded on this connection (see `headerValue`).
    private var valueCache = [String?](repeating: nil, count: 16)
    /// While `send(into:)` runs: the buffer it fills (NO_COPY DATA is written there by
    /// `sendData`) and its size limit.
    private var sendTarget: UnsafeMutablePointer<ByteBuffer>?
    private var sendLimit = 0
    /// The bytes of the DATA frame `bodyChunk` just sized: nghttp2 asks `sendData` to write
    /// them next, in the same `mem_send` call (never held past `send(into:)`).
    private var noCopyChunk: ArraySlice<UInt8> = []

    enum Role { case server, client }

    init(role: Role, delegate: any NGHTTP2SessionDelegate, settings: HTTP2SessionSettings) throws(NGHTTP2Error) {
        self.delegate = delegate
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_send_data_callback(callbacks, sendNoCopyData)

        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        // Window updates are sent when the application consumes data (`consume`), so a
        // handler that reads slowly stops the peer instead of growing our buffers.
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_send_header_block_length(option, 64 * 1024)
        // More CONTINUATIONs than this end the connection (nghttp2 returns the fatal
        // NGHTTP2_ERR_TOO_MANY_CONTINUATIONS; `receive` answers it with GOAWAY).
        nghttp2_option_set_max_continuations(option, settings.maxContinuations)
        nghttp2_option_set_stream_reset_rate_limit(option, settings.streamResetBurst, settings.streamResetsPerSecond)

        let unmanaged = Unmanaged.passRetained(self)
        selfRetain = unmanaged
        let rc: Int32
        // nghttp2 copies the struct; `pool` lives as long as this object, past `nghttp2_session_del`.
        var mem = nghttp2_mem(mem_user_data: Unmanaged.passUnretained(pool).toOpaque(),
                              malloc: poolMalloc, free: poolFree, calloc: poolCalloc, realloc: poolRealloc)
        switch role {
        case .server: rc = nghttp2_session_server_new3(&session, callbacks, unmanaged.toOpaque(), option, &mem)
        case .client: rc = nghttp2_session_client_new3(&session, callbacks, unmanaged.toOpaque(), option, &mem)
        }
        guard rc == 0 else {
            unmanaged.release()
            selfRetain = nil
            throw NGHTTP2Error(code: rc)
        }
        var iv = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: settings.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialStreamWindow),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: settings.maxFrameSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: settings.maxHeaderListSize),
        ]
        if role == .client {
            iv.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        try check(nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), iv, iv.count))
        // The connection window is not a SETTING; raise it explicitly (NGHTTP2-NOTES.md).
        try check(nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, settings.connectionWindow))
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    /// Releases the C session's hold on this object. Call once, when the connection closes.
    func close() {
        if let session {
            nghttp2_session_del(session)
            self.session = nil
        }
        selfRetain?.release()
        selfRetain = nil
    }

    private func check(_ rc: Int32) throws(NGHTTP2Error) {
        if rc != 0 { throw NGHTTP2Error(code: rc) }
    }

    // MARK: input and output

    /// Feeds received bytes; callbacks fire synchronously. A thrown error ends the connection:
    /// nghttp2 has queued a GOAWAY for a protocol error (e.g. COMPRESSION_ERROR), and `send`
    /// still delivers it. A fatal error queues nothing; for the one a peer can provoke at will
    /// (a HEADERS frame followed by too many CONTINUATIONs) this queues GOAWAY(ENHANCE_YOUR_CALM)
    /// itself, so the peer learns why instead of seeing the socket close.
    func receive(_ bytes: UnsafeRawBufferPointer) throws(NGHTTP2Error) {
        guard let session, let base = bytes.baseAddress else { return }
        let rc = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rc < 0 {
            if Int32(rc) == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue {
                let last = nghttp2_session_get_last_proc_stream_id(session)
                _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last,
                                          NGHTTP2_ENHANCE_YOUR_CALM.rawValue, nil, 0)
            }
            throw NGHTTP2Error(code: Int32(rc))
        }
    }

    /// Serialises every pending frame into `out` (at most about `limit` bytes), straight into
    /// the buffer the channel writes (no intermediate array). DATA frames are NO_COPY: nghttp2
    /// hands back only their 9-byte header and `sendData` writes the header and the stream's
    /// bytes into `out` itself — one copy of each response byte (it was two: into nghttp2's
    /// frame buffer, then from there into `out`).
    func send(into out: inout ByteBuffer, limit: Int = 1 << 20) throws(NGHTTP2Error) {
        guard let session else { return }
        try withUnsafeMutablePointer(to: &out) { (target: UnsafeMutablePointer<ByteBuffer>) throws(NGHTTP2Error) in
            sendTarget = target
            sendLimit = limit
            // nghttp2 asks for a NO_COPY frame's bytes in the same `mem_send` call that sized it
            // (its POP_ITEM state goes straight to SEND_NO_COPY; a pause comes after the frame),
            // so none is pending here. Dropped anyway: a frame nghttp2 gave up on between the two
            // (its trailers refused, an allocation failed) must not keep a stream's buffer alive.
            defer {
                sendTarget = nil
                noCopyChunk = []
            }
            while target.pointee.readableBytes < limit {
                var data: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &data)
                if n < 0 { throw NGHTTP2Error(code: Int32(n)) }
                if n == 0 { break }
                target.pointee.writeBytes(UnsafeRawBufferPointer(start: data, count: n))
            }
        }
    }

    /// Serialises every pending frame into `out` (at most about `limit` bytes).
    func send(into out: inout [UInt8], limit: Int = 1 << 20) throws(NGHTTP2Error) {
        var buffer = ByteBuffer()
        try send(into: &buffer, limit: limit)
        out.append(contentsOf: buffer.readableBytesView)
    }

    /// False once both sides are done (GOAWAY exchanged, no open streams): close the socket.
    var isActive: Bool {
        guard let session else { return false }
        return nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    var wantsWrite: Bool {
        guard let session else { return false }
        return nghttp2_session_want_write(session) != 0
    }

    // MARK: submitting frames

    /// Sends response (or request) headers; with `hasBody` a DATA source follows, pulled through
    /// `http2BodyChunk`. Without it the headers end the stream (a Trailers-Only response).
    func submitResponse(streamID: Int32, headers: OutboundHeaders, hasBody: Bool) throws(NGHTTP2Error) {
        guard let session else { return }
        let rc = withNameValues(headers, neverIndexExtra: !hasBody) { nva, count in
            if hasBody {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(fd: 0), read_callback: readBody)
                return nghttp2_submit_response(session, streamID, nva, count, &provider)
            }
            return nghttp2_submit_response(session, streamID, nva, count, nil)
        }
        try check(rc)
    }

    /// Client side: opens a stream with request headers and a body source; returns its id.
    func submitRequest(headers: [HeaderField]) throws(NGHTTP2Error) -> Int32 {
        guard let session else { throw NGHTTP2Error(code: NGHTTP2_ERR_INVALID_STATE.rawValue) }
        let id = withNameValues(OutboundHeaders(extra: headers)) { nva, count in
            var provider = nghttp2_data_provider(source: nghttp2_data_source(fd: 0), read_callback: readBody)
            return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        if id < 0 { throw NGHTTP2Error(code: id) }
        return id
    }

    /// Asks nghttp2 to pull DATA again from a stream whose source deferred.
    func resumeData(streamID: Int32) {
        guard let session else { return }
        _ = nghttp2_session_resume_data(session, streamID)
    }

    func resetStream(streamID: Int32, errorCode: UInt32) {
        guard let session else { return }
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// Returns flow-control credit for `count` received body bytes (sends WINDOW_UPDATE as needed).
    func consume(streamID: Int32, count: Int) {
        guard let session, count > 0 else { return }
        if nghttp2_session_consume(session, streamID, count) != 0 {
            // The stream is gone; credit the connection window alone.
            _ = nghttp2_session_consume_connection(session, count)
        }
    }

    /// Returns connection-level credit alone (bytes of a stream that is ending unread).
    func consumeConnection(count: Int) {
        guard let session, count > 0 else { return }
        _ = nghttp2_session_consume_connection(session, count)
    }

    /// A graceful-shutdown hint: GOAWAY with the maximum stream id (RFC 9113 §6.8).
    func submitShutdownNotice() {
        guard let session else { return }
        _ = nghttp2_submit_shutdown_notice(session)
    }

    /// The final GOAWAY: no stream above the last one processed will be served.
    func submitGoAway(errorCode: UInt32 = 0) {
        guard let session else { return }
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, nil, 0)
    }

    func submitPing() {
        guard let session else { return }
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }


    // MARK: C plumbing

    /// Buffers for `withNameValues`: every name and value in one byte array, their spans,
    /// and the `nghttp2_nv` array pointing into the bytes.
    private struct NameValueScratch {
        var bytes: [UInt8] = []
        /// Name offset and length, value offset and length, whether HPACK may index it.
        var spans: [(Int, Int, Int, Int, Bool)] = []
        var nva: [nghttp2_nv] = []
    }

    /// Calls `body` with `headers` as nghttp2's name/value array: the prepared fields' own
    /// array when there is nothing else, else their entries (pointing into the prepared bytes)
    /// followed by the extra fields.
    ///
    /// `neverIndexExtra` (trailers, Trailers-Only responses): the extra fields but
    /// `grpc-status` / `grpc-message` (few, repeating values) are sent as literals that HPACK
    /// never indexes. Trailing metadata and status details carry per-call values (a trace id);
    /// indexing each one cost nghttp2 a dynamic-table insert and eviction per call and evicted
    /// the entries that do repeat.
    private func withNameValues<R>(
        _ headers: OutboundHeaders, neverIndexExtra: Bool = false, _ body: (UnsafePointer<nghttp2_nv>, Int) -> R
    ) -> R {
        if let prepared = headers.prepared, headers.extra.isEmpty {
            return body(prepared.nva.baseAddress!, prepared.fields.count)
        }
        // One contiguous byte buffer holds every extra name and value; nghttp2 copies them on
        // submit, so the buffers are reused for the next call. Taken out of `self` while in
        // use: a nested call (none today) would get fresh ones instead of overwriting these.
        var scratch = nameValueScratch
        nameValueScratch = NameValueScratch()
        defer {
            scratch.bytes.removeAll(keepingCapacity: true)
            scratch.spans.removeAll(keepingCapacity: true)
            scratch.nva.removeAll(keepingCapacity: true)
            nameValueScratch = scratch
        }
        for h in headers.extra {
            let n = scratch.bytes.count
            scratch.bytes.append(contentsOf: h.name.utf8)
            let v = scratch.bytes.count
            scratch.bytes.append(contentsOf: h.value.utf8)
            let index = !neverIndexExtra || h.name == "grpc-status" || h.name == "grpc-message"
            scratch.spans.append((n, v - n, v, scratch.bytes.count - v, index))
        }
        if scratch.bytes.isEmpty { scratch.bytes.append(0) }
        return withExtendedLifetime(headers.prepared) {
            scratch.bytes.withUnsafeMutableBufferPointer { buf in
                if let prepared = headers.prepared { scratch.nva.append(contentsOf: prepared.nva) }
                let base = buf.baseAddress!
                for s in scratch.spans {
                    let flags = s.4 ? NGHTTP2_NV_FLAG_NONE.rawValue : NGHTTP2_NV_FLAG_NO_INDEX.rawValue
                    scratch.nva.append(nghttp2_nv(name: base + s.0, value: base + s.2, namelen: s.1, valuelen: s.3, flags: UInt8(flags)))
                }
                return scratch.nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
            }
        }
    }

    /// A received header value as a String. Values longer than 15 bytes need a heap
    /// allocation each, and a connection repeats the same few (`:path`, `content-type`,
    /// `user-agent`) on every call: a small direct-mapped cache hands back the String
    /// decoded last time when the bytes are equal.
    func headerValue(_ p: UnsafePointer<UInt8>?, _ n: Int) -> String {
        guard let p, n > 15, n <= 512 else { return text(p, n) }
        let slot = (n &* 31 &+ Int(p[n / 2]) &* 7 &+ Int(p[n - 1])) & (valueCache.count - 1)
        // memcmp: a generic elementsEqual over the two buffers cost ~150 instructions per value.
        if let cached = valueCache[slot],
           cached.utf8.withContiguousStorageIfAvailable({ $0.count == n && memcmp($0.baseAddress!, p, n) == 0 }) == true {
            return cached
        }
        let value = text(p, n)
        valueCache[slot] = value
        return value
    }

    func bodyChunk(streamID: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int,
                               flags: UnsafeMutablePointer<UInt32>) -> Int {
        switch delegate.http2BodyChunk(streamID: streamID, maxLength: length) {
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .bytes(let chunk):
            return noCopy(chunk, length: length, into: buf, flags: flags)
        case .end(let chunk, let trailers):
            let n = noCopy(chunk, length: length, into: buf, flags: flags)
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if !trailers.isEmpty, let session {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                let rc = withNameValues(trailers, neverIndexExtra: true) { nva, count in
                    nghttp2_submit_trailer(session, streamID, nva, count)
                }
                if rc != 0 { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            }
            return n
        }
    }

    /// A DATA frame's payload: kept for `sendData` (NO_COPY) while `send(into:)` runs, else
    /// (no target: not expected) copied into nghttp2's buffer as before.
    private func noCopy(_ chunk: ArraySlice<UInt8>, length: Int, into buf: UnsafeMutablePointer<UInt8>,
                        flags: UnsafeMutablePointer<UInt32>) -> Int {
        let n = min(chunk.count, length)
        guard n > 0 else { return 0 }
        guard sendTarget != nil else {
            chunk.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: n) }
            return n
        }
        noCopyChunk = chunk.prefix(n)
        flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
        return n
    }

    /// nghttp2's `send_data_callback` for a NO_COPY DATA frame: its header (and padding, which
    /// this library never asks for), then the bytes `bodyChunk` kept, into the send buffer.
    /// Past the send limit nghttp2 is paused (`mem_send` returns 0; the rest goes in the next
    /// flush), as the copying path stopped at the limit.
    func sendData(frameHeader: UnsafePointer<UInt8>, length: Int, padding: Int) -> Int32 {
        guard let target = sendTarget, noCopyChunk.count == length else {
            return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
        }
        target.pointee.writeBytes(UnsafeRawBufferPointer(start: frameHeader, count: 9))
        if padding > 0 { target.pointee.writeInteger(UInt8(padding - 1)) }
        target.pointee.writeBytes(noCopyChunk)
        if padding > 1 { target.pointee.writeRepeatingByte(0, count: padding - 1) }
        noCopyChunk = []
        return target.pointee.readableBytes >= sendLimit ? NGHTTP2_ERR_PAUSE.rawValue : 0
    }
}
