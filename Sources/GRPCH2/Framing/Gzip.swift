import GRPCH2Core
import CZlib

/// gzip (RFC 1952) through zlib, for `grpc-encoding: gzip`.
package enum Gzip {
    package enum Failure: Error, Equatable {
        case corrupt(String)
        /// Inflating produced more than the receive limit (a "zip bomb" guard).
        case tooLarge(limit: Int)
    }

    static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 selects the gzip wrapper.
        var rc = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                rc = deflate(&stream, Z_FINISH)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        precondition(rc == Z_STREAM_END, "deflate did not finish: \(rc)")
        output.removeLast(output.count - produced)
        return output
    }

    package static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: max(4096, min(input.count * 4, 1 << 20)))
        var input = input
        var failure: Failure?
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBufferPointer { outBuf -> (Int32, Int) in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, outBuf.count - Int(stream.avail_out))
                }
                if output.count + produced > limit {
                    failure = .tooLarge(limit: limit)
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END { return }
                if rc != Z_OK || (produced == 0 && stream.avail_in == 0) {
                    failure = .corrupt(rc == Z_OK ? "truncated gzip data" : "zlib error \(rc)")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
