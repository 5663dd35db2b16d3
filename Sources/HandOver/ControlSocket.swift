import CHandOver
import Foundation
import NIOCore

/// A failed socket operation of the hand-over, with the system's reason.
public struct HandOverError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    static func system(_ what: String, _ rc: Int) -> HandOverError {
        HandOverError("\(what): \(String(cString: strerror(Int32(-rc))))")
    }
}

/// One end of the control connection between a running server and its successor: a Unix stream
/// socket carrying length-prefixed frames, a frame optionally carrying a file descriptor
/// (SCM_RIGHTS). Every call blocks: use it from a thread of its own (`HandOverThread.run`), never
/// from an event loop or the cooperative pool.
///
/// The only Swift file that calls the C shim (`CHandOver`); nothing else of the hand-over is unsafe.
public final class ControlConnection: @unchecked Sendable {
    // @unchecked: the descriptor is immutable; the socket is used by one thread at a time.
    private let fd: Int32
    private let closed = NSLock()
    private var isClosed = false

    init(fd: Int32) { self.fd = fd }

    /// Connects to the control socket at `path`.
    public static func connect(path: String) throws -> ControlConnection {
        let rc = chandover_unix_connect(path)
        guard rc >= 0 else { throw HandOverError.system("cannot connect to \(path)", Int(rc)) }
        return ControlConnection(fd: rc)
    }

    /// Sends and receives fail after `timeout` without progress (nil: wait forever).
    public func setTimeout(_ timeout: Duration?) throws {
        let ms = timeout.map { Int32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? 0
        let rc = chandover_set_timeout(fd, max(ms, timeout == nil ? 0 : 1))
        guard rc == 0 else { throw HandOverError.system("setsockopt", Int(rc)) }
    }

    /// Sends one frame: 8 bytes of big-endian length, then the bytes; `passing` (a descriptor
    /// this process keeps owning) travels with it.
    public func send(_ frame: [UInt8], passing descriptor: Int32? = nil) throws {
        var bytes = [UInt8](repeating: 0, count: 8)
        var n = UInt64(frame.count)
        for i in (0..<8).reversed() { bytes[i] = UInt8(n & 0xff); n >>= 8 }
        bytes += frame
        let rc = bytes.withUnsafeBufferPointer { chandover_send(fd, $0.baseAddress, $0.count, descriptor ?? -1) }
        guard rc == 0 else { throw HandOverError.system("hand-over send", Int(rc)) }
    }

    /// Receives one frame and the descriptor that came with it (owned by the caller now).
    /// Throws at end of stream or after the timeout.
    public func receive(limit: Int = 1 << 34) throws -> (frame: [UInt8], descriptor: Int32?) {
        var descriptor: Int32?
        let header = try read(8, &descriptor)
        let length = header.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(limit) else { throw HandOverError("hand-over frame of \(length) bytes is over the limit") }
        return (try read(Int(length), &descriptor), descriptor)
    }

    private func read(_ count: Int, _ descriptor: inout Int32?) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            var passed: Int32 = -1
            let n = out.withUnsafeMutableBufferPointer { chandover_recv(fd, $0.baseAddress! + got, count - got, &passed) }
            if passed >= 0 {
                if descriptor == nil { descriptor = passed } else { _ = chandover_close(passed) }
            }
            guard n > 0 else {
                throw n == 0 ? HandOverError("hand-over peer closed the connection")
                    : HandOverError.system(n == -Int(EAGAIN) ? "hand-over peer did not answer in time" : "hand-over receive", n)
            }
            got += n
        }
        return out
    }

    /// Wakes a thread blocked on this connection (its call fails); `close()` is still the owner's.
    public func interrupt() {
        closed.lock()
        defer { closed.unlock() }
        if !isClosed { _ = chandover_shutdown(fd) }
    }

    public func close() {
        closed.lock()
        defer { closed.unlock() }
        guard !isClosed else { return }
        isClosed = true
        _ = chandover_close(fd)
    }

    deinit { close() }
}

/// The listening side: a Unix stream socket at a path, accepting successors.
public final class ControlListener: @unchecked Sendable {
    // @unchecked: the descriptor is immutable; `isClosed` is guarded by `closed`.
    private let fd: Int32
    public let path: String
    private let closed = NSLock()
    private var isClosed = false

    public init(path: String) throws {
        let rc = chandover_unix_listen(path, 4)
        guard rc >= 0 else { throw HandOverError.system("cannot listen on \(path)", Int(rc)) }
        fd = rc
        self.path = path
    }

    /// Waits for the next connection; throws once the listener is closed.
    public func accept() throws -> ControlConnection {
        let rc = chandover_accept(fd)
        guard rc >= 0 else { throw HandOverError.system("accept on \(path)", Int(rc)) }
        return ControlConnection(fd: rc)
    }

    /// Stops accepting (a blocked `accept` returns with an error) and removes the socket file.
    /// Idempotent.
    public func close() {
        closed.lock()
        defer { closed.unlock() }
        guard !isClosed else { return }
        isClosed = true
        _ = chandover_shutdown(fd)
        _ = chandover_close(fd)
        unlink(path)
    }
}

/// A TCP listening socket bound by hand, so its descriptor can be handed to NIO
/// (`ServerBootstrap.withBoundSocket`) and later to a successor process.
public enum ListeningSocket {
    /// Binds `host:port` (port 0: a free one) with SO_REUSEADDR and listens; the caller owns the
    /// descriptor (NIO closes it with the channel that adopts it).
    public static func bind(host: String, port: Int, backlog: Int32 = 1024) throws -> Int32 {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let rc = address.withSockAddr { chandover_tcp_listen($0, socklen_t($1), backlog) }
        guard rc >= 0 else { throw HandOverError.system("cannot listen on \(host):\(port)", Int(rc)) }
        return rc
    }

    /// Closes a descriptor that was received but will not be used.
    public static func close(_ descriptor: Int32) { _ = chandover_close(descriptor) }

    /// The port `descriptor` is bound to.
    public static func port(of descriptor: Int32) -> Int? {
        let rc = chandover_local_port(descriptor)
        return rc >= 0 ? Int(rc) : nil
    }
}

/// Blocking hand-over I/O on a thread of its own, awaited from async code.
public enum HandOverThread {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "kato-hand-over"
            thread.start()
        }
    }
}
