// A SubscribePredictions subscriber that never reads: one TCP connection, a hand-built HTTP/2
// request (prior knowledge, HPACK literals without indexing), a small receive buffer, and then
// nothing. The server's HTTP/2 flow control window fills, its writes for this stream wait, and
// newest-wins must keep the session's backlog for it bounded while the other subscribers go on.
import Foundation
import KatoProto
#if canImport(Glibc)
import Glibc
#endif

final class StuckSubscriber {
    let fd: Int32

    init(host: String, port: Int, sessionID: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { Glibc.close(fd); throw POSIXError(.ECONNREFUSED) }
        var request = Kato_V2_SubscribePredictionsRequest()
        request.sessionID = sessionID
        request.sendInitial = true
        let message = request.serializedBytes()
        var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        bytes += Self.frame(type: 4, flags: 0, stream: 0, [])  // SETTINGS: defaults (65,535-byte windows)
        var block: [UInt8] = []
        for (name, value) in [(":method", "POST"), (":scheme", "http"), (":path", "/kato.v2.PredictService/SubscribePredictions"),
                              (":authority", "\(host):\(port)"), ("content-type", "application/grpc"), ("te", "trailers")] {
            block.append(0)  // literal header field without indexing, new name
            for s in [name, value] {
                precondition(s.utf8.count < 127)
                block.append(UInt8(s.utf8.count))
                block += Array(s.utf8)
            }
        }
        bytes += Self.frame(type: 1, flags: 0x4, stream: 1, block)  // HEADERS, END_HEADERS
        let length = UInt32(message.count)
        let grpcFrame: [UInt8] = [0, UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)] + message
        bytes += Self.frame(type: 0, flags: 0x1, stream: 1, grpcFrame)  // DATA, END_STREAM
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { Glibc.close(fd); throw POSIXError(.EIO) }
    }

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16), UInt8((n >> 8) & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24), UInt8((stream >> 16) & 0xff), UInt8((stream >> 8) & 0xff), UInt8(stream & 0xff)] + payload
    }

    func close() { Glibc.close(fd) }
}
