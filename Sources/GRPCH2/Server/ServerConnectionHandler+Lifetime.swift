import GRPCH2Core
import NIOCore

/// Keepalive pings, idle and age limits, graceful shutdown (GOAWAY).
extension ServerConnectionHandler {
    // MARK: connection lifetime

    func beginGracefulShutdown() {
        guard !shuttingDown, let context else { return }
        shuttingDown = true
        session?.submitShutdownNotice()
        flush()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // One round trip later, the final GOAWAY names the last stream we will serve.
        context.eventLoop.scheduleTask(in: .milliseconds(100)) {
            loopBound.value.session?.submitGoAway()
            loopBound.value.flush()
            if loopBound.value.streams.isEmpty { loopBound.value.context?.close(promise: nil) }
        }
        context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(configuration.keepalive.gracePeriod))) {
            loopBound.value.context?.close(promise: nil)
        }
    }

    func scheduleKeepalive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        if let maxAge = configuration.keepalive.maxAge {
            maxAgeTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(maxAge))) {
                loopBound.value.beginGracefulShutdown()
            }
        }
        if let interval = configuration.keepalive.pingInterval {
            let timeout = configuration.keepalive.pingTimeout
            pingTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: .nanoseconds(Self.nanos(interval)), delay: .nanoseconds(Self.nanos(interval))) { _ in
                let handler = loopBound.value
                guard handler.pingDeadline == nil else { return }
                handler.session?.submitPing()
                handler.flush()
                handler.pingDeadline = handler.context?.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(timeout))) {
                    loopBound.value.logger.debug("keepalive ping timed out", metadata: ["peer": "\(loopBound.value.peer)"])
                    loopBound.value.context?.close(promise: nil)
                }
            }
        }
        scheduleIdleTimer()
    }

    func scheduleIdleTimer() {
        guard let maxIdle = configuration.keepalive.maxIdle, let context, idleTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Self.nanos(maxIdle))) {
            loopBound.value.idleTimer = nil
            if loopBound.value.streams.isEmpty { loopBound.value.beginGracefulShutdown() }
        }
    }

    /// Saturating: `grpc-timeout: 99999999H` (about 11,000 years) overflows Int64 nanoseconds,
    /// and a trap there would let any client crash the server. Capped at ~146 years, which
    /// also keeps NIO's `now + amount` deadline arithmetic in range.
    static func nanos(_ d: Duration) -> Int64 {
        let cap = Int64.max / 2
        let (seconds, attoseconds) = d.components
        guard seconds < cap / 1_000_000_000 else { return cap }
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Sent to every connection when the server shuts down gracefully.
struct GracefulShutdownEvent: Sendable {}
