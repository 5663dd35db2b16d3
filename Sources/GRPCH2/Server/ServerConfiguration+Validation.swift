/// A `ServerConfiguration` value no server can work with, found by `validate()` before anything is
/// bound: a negative buffer limit, say, would leave every streaming writer waiting for a drain that
/// can never come. `setting` names the property as written in Swift, `requirement` what it must be.
public struct InvalidServerConfiguration: Error, Sendable, Hashable, CustomStringConvertible {
    public var setting: String
    public var requirement: String
    public var description: String { "ServerConfiguration.\(setting) must be \(requirement)" }
}

extension ServerConfiguration {
    /// Throws for the first setting outside what the server can honour (`GRPCServer.start` calls
    /// this). Message and header limits must be positive; the buffer limits may be zero (a writer
    /// waits, a push source parks, as soon as anything is queued) but not negative; durations may
    /// be zero where zero means "none" (coalescing delay, grace period, exit bound) and must be
    /// positive where zero would make every connection or request fail at once.
    public func validate() throws(InvalidServerConfiguration) {
        func require(_ ok: Bool, _ setting: String, _ requirement: String) throws(InvalidServerConfiguration) {
            if !ok { throw InvalidServerConfiguration(setting: setting, requirement: requirement) }
        }
        try require((0...65535).contains(port), "port", "0…65535")
        try require(maxReceiveMessageSize > 0, "maxReceiveMessageSize", "positive")
        try require(maxSendMessageSize > 0, "maxSendMessageSize", "positive")
        try require(maxConcurrentStreams > 0, "maxConcurrentStreams", "positive")
        // RFC 9113 §6.9.2: a window above 2^31 − 1 is a FLOW_CONTROL_ERROR.
        try require(initialStreamWindow <= UInt32(Int32.max), "initialStreamWindow", "at most 2^31 − 1")
        try require(connectionWindow > 0, "connectionWindow", "positive")
        try require(maxHeaderListSize > 0, "maxHeaderListSize", "positive")
        try require(maxBufferedResponseBytes >= 0, "maxBufferedResponseBytes", "zero or positive")
        try require(maxBufferedPushBytes >= 0, "maxBufferedPushBytes", "zero or positive")
        try require(pushCoalescingDelay >= .zero, "pushCoalescingDelay", "zero or positive")
        try require(pushCoalescingStreams > 0, "pushCoalescingStreams", "positive")
        try require(handlerExitBound >= .zero, "handlerExitBound", "zero or positive")
        try require(streamResets.burst > 0, "streamResets.burst", "positive")
        try require(streamResets.perSecond > 0, "streamResets.perSecond", "positive")
        if let interval = keepalive.pingInterval {
            try require(interval > .zero, "keepalive.pingInterval", "positive (nil: never)")
        }
        try require(keepalive.pingTimeout > .zero, "keepalive.pingTimeout", "positive")
        if let idle = keepalive.maxIdle { try require(idle > .zero, "keepalive.maxIdle", "positive (nil: never)") }
        if let age = keepalive.maxAge { try require(age > .zero, "keepalive.maxAge", "positive (nil: never)") }
        try require(keepalive.gracePeriod >= .zero, "keepalive.gracePeriod", "zero or positive")
        try require(web.requestTimeout > .zero, "web.requestTimeout", "positive")
    }
}
