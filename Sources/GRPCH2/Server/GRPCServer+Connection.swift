import Logging
import NIOCore

extension GRPCServer {
    /// Installs on `channel` the handler of every accepted connection (after TLS, if any): with
    /// the web protocols on, the detector choosing HTTP/2 or HTTP/1.1 by the connection's first
    /// bytes (docs/WEB.md); otherwise the HTTP/2 connection handler. `start()` uses it for every
    /// accepted connection; the connection fuzz target uses it on an `EmbeddedChannel`, so an
    /// input is finished when the call returns.
    public static func installConnectionHandler(on channel: any Channel, configuration: ServerConfiguration,
                                                router: ServiceRouter, logger: Logger) throws {
        try installConnectionHandler(on: channel, configuration: configuration, router: router, logger: logger, cancelledTasks: nil)
    }

    /// `cancelledTasks`: where the connection's handler tasks go when cancelled mid-call (the
    /// server waits for them at shutdown).
    static func installConnectionHandler(on channel: any Channel, configuration: ServerConfiguration,
                                         router: ServiceRouter, logger: Logger, cancelledTasks: HandlerTasks?) throws {
        if configuration.web.enabled {
            try channel.pipeline.syncOperations.addHandler(
                ProtocolDetector(router: router, configuration: configuration, logger: logger, cancelledTasks: cancelledTasks))
        } else {
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(router: router, configuration: configuration, logger: logger, cancelledTasks: cancelledTasks))
        }
    }
}
