import NIOCore

extension Channel {
    /// Closes a listening channel without dropping a connection it has already accepted.
    ///
    /// NIO's accept handler sets a new connection up on the connection's own event loop, then hops
    /// back to the listener's; when the listener was closed meanwhile it *closes* the connection
    /// (`ChannelError.ioOnClosedChannel`). The client, whose request is usually sent by then, sees
    /// a reset — the admin port's rare ECONNRESET at a hand-over (docs/OPERATIONS.md). So: stop
    /// accepting first (auto-read off, which takes effect after the accept batch under way), let
    /// every set-up under way finish — a round trip through each child event loop (set-ups queue
    /// there in order), then through the listener's — and only then close. Connections still in
    /// the kernel's queue stay there for a process that holds the same socket (a hand-over
    /// successor), or are reset by the close when none does, as before.
    public func closeListenerAfterPendingAccepts(childGroup: any EventLoopGroup) async {
        try? await setOption(ChannelOptions.autoRead, value: false).get()
        for loop in childGroup.makeIterator() { try? await loop.submit {}.get() }
        try? await eventLoop.submit {}.get()
        try? await close()
    }
}
