/// Splits a request or response body into gRPC length-prefixed messages.
///
/// Wire format: 1 byte compressed flag, 4 bytes big-endian length, then the message.
/// Bodies arrive in arbitrary chunks (a message can span DATA frames and a frame can
/// split the prefix), so this is a small state machine over a byte buffer.
package struct MessageDeframer {
    package struct Message: Equatable {
        package var compressed: Bool
        package var bytes: [UInt8]
    }

    package enum Failure: Error, Equatable {
        /// The declared length exceeds the configured limit (RESOURCE_EXHAUSTED).
        case messageTooLarge(length: Int, limit: Int)
        /// The compressed flag is neither 0 nor 1.
        case invalidFlag(UInt8)
    }

    package let maxMessageSize: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0

    package init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes received but not yet part of a complete message.
    package var bufferedByteCount: Int { buffer.count - readIndex }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if readIndex > 0, readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: consuming [UInt8]) {
        // Nothing buffered (usual: whole messages per DATA frame): adopt the array, no copy.
        if readIndex == buffer.count {
            buffer = consume bytes
            readIndex = 0
            return
        }
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete message, or nil when more bytes are needed.
    package mutating func next() throws(Failure) -> Message? {
        let available = buffer.count - readIndex
        guard available >= 5 else { return nil }
        let flag = buffer[readIndex]
        guard flag <= 1 else { throw .invalidFlag(flag) }
        let length =
            Int(buffer[readIndex + 1]) << 24 | Int(buffer[readIndex + 2]) << 16
            | Int(buffer[readIndex + 3]) << 8 | Int(buffer[readIndex + 4])
        guard length <= maxMessageSize else { throw .messageTooLarge(length: length, limit: maxMessageSize) }
        guard available >= 5 + length else { return nil }
        let start = readIndex + 5
        if readIndex == 0, start + length == buffer.count {
            // The buffer is exactly this message (usual: one message per DATA frame, adopted by
            // `append`): drop the prefix in place, which moves bytes but allocates nothing while
            // the array is not shared, instead of copying the message into a new array.
            var bytes = buffer
            buffer = []
            bytes.removeFirst(5)
            return Message(compressed: flag == 1, bytes: bytes)
        }
        let message = Message(compressed: flag == 1, bytes: Array(buffer[start..<start + length]))
        readIndex = start + length
        if readIndex == buffer.count {
            // Not `removeAll(keepingCapacity:)`: the buffer is often an adopted array still
            // shared with the caller, and keeping its capacity would allocate a new one.
            buffer = []
            readIndex = 0
        } else if readIndex > 64 * 1024 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        return message
    }
}

/// Prepends the gRPC length prefix.
@usableFromInline
package enum MessageFramer {
    /// The length prefix: 1 byte compressed flag, 4 bytes big-endian length.
    @usableFromInline package static let prefixLength = 5

    /// Fills in the prefix of a message serialized after `prefixLength` spare bytes.
    package static func writePrefix(into framed: inout [UInt8]) {
        let n = framed.count - prefixLength
        framed[0] = 0
        framed[1] = UInt8(truncatingIfNeeded: n >> 24)
        framed[2] = UInt8(truncatingIfNeeded: n >> 16)
        framed[3] = UInt8(truncatingIfNeeded: n >> 8)
        framed[4] = UInt8(truncatingIfNeeded: n)
    }

    /// Room for `k` more bytes in `out`, grown geometrically: `reserveCapacity(count + k)`
    /// allocates exactly that much, so calling it per message on a buffer that keeps growing
    /// copied the whole buffer every time (quadratic in a stream's queued bytes).
    package static func reserve(_ out: inout [UInt8], adding k: Int) {
        if out.capacity < out.count + k {
            out.reserveCapacity(max(out.count + k, 2 * out.capacity))
        }
    }

    package static func frame(_ message: [UInt8], compressed: Bool, into out: inout [UInt8]) {
        let n = message.count
        reserve(&out, adding: 5 + n)
        out.append(compressed ? 1 : 0)
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(contentsOf: message)
    }
}
