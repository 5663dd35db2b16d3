import Logging
import NIOCore

extension GRPCServer {
    /// Installs on `channel` the handler `start()` installs on every accepted plaintext
    /// connection, so a connection can be driven without a socket (the connection fuzz target
    /// feeds bytes through an `EmbeddedChannel`: an input is finished when the call returns).
    /// Keep it in step with `start()`'s child channel initializer.
    public static func installConnectionHandler(on channel: any Channel, configuration: ServerConfiguration,
                                                router: ServiceRouter, logger: Logger) throws {
        if configuration.web.enabled {
            try channel.pipeline.syncOperations.addHandler(
                ProtocolDetector(router: router, configuration: configuration, logger: logger))
        } else {
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(router: router, configuration: configuration, logger: logger))
        }
    }
}
