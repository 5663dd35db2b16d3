import CNGHTTP2
import GRPCH2Core

// MARK: C callbacks (non-capturing; the session arrives through user_data)

/// Lends the session behind `user_data` to one callback without a retain/release pair: it
/// retains itself until `close()`, and callbacks only run inside its own nghttp2 calls.
private func withSession<R>(_ userData: UnsafeMutableRawPointer?, _ body: (NGHTTP2Session) -> R) -> R {
    Unmanaged<NGHTTP2Session>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

func text(_ p: UnsafePointer<UInt8>?, _ n: Int) -> String {
    guard let p else { return "" }
    return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
}

let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
    guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
    let cat = frame.pointee.headers.cat
    withSession(userData) {
        $0.delegate.http2BeginHeaders(streamID: frame.pointee.hd.stream_id, isRequest: cat == NGHTTP2_HCAT_REQUEST)
    }
    return 0
}

let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
    guard let frame else { return 0 }
    withSession(userData) {
        $0.delegate.http2Header(
            streamID: frame.pointee.hd.stream_id, token: headerToken(name, nameLength),
            size: nameLength &+ valueLength &+ 32, name: text(name, nameLength), value: $0.headerValue(value, valueLength))
    }
    return 0
}

let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, userData in
    guard let frame else { return 0 }
    return withSession(userData) { session in frameReceived(frame, session) }
}

private func frameReceived(_ frame: UnsafePointer<nghttp2_frame>, _ session: NGHTTP2Session) -> Int32 {
    let hd = frame.pointee.hd
    let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    switch hd.type {
    case UInt8(NGHTTP2_HEADERS.rawValue):
        session.delegate.http2HeadersComplete(streamID: hd.stream_id, endStream: endStream)
    case UInt8(NGHTTP2_DATA.rawValue):
        if endStream { session.delegate.http2EndOfData(streamID: hd.stream_id) }
    case UInt8(NGHTTP2_GOAWAY.rawValue):
        session.delegate.http2GoAwayReceived(lastStreamID: frame.pointee.goaway.last_stream_id,
                                             errorCode: frame.pointee.goaway.error_code)
    case UInt8(NGHTTP2_PING.rawValue):
        if hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 { session.delegate.http2PingAckReceived() }
    default:
        break
    }
    return 0
}

let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
    guard let data else { return 0 }
    withSession(userData) { $0.delegate.http2Data(streamID: streamID, bytes: Array(UnsafeBufferPointer(start: data, count: length))) }
    return 0
}

let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
    withSession(userData) { $0.delegate.http2StreamClosed(streamID: streamID, errorCode: errorCode) }
    return 0
}

let readBody: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, userData in
    withSession(userData) { $0.bodyChunk(streamID: streamID, into: buf!, length: length, flags: flags!) }
}

/// NO_COPY DATA (`NGHTTP2Session.sendData`): nghttp2 calls it from `mem_send` right after the
/// read callback sized the frame.
let sendNoCopyData: nghttp2_send_data_callback = { _, frame, frameHeader, length, _, userData in
    withSession(userData) { $0.sendData(frameHeader: frameHeader!, length: length, padding: Int(frame!.pointee.data.padlen)) }
}
