import Foundation

/// What the admin port answers: `/metrics` (Prometheus text format) and the health probes
/// `/health/live`, `/health/ready`, `/health/startup` (JSON; 503 when not ready).
public struct AdminRoutes: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
    }

    /// A snapshot of the server for the probes.
    public struct HealthState: Sendable {
        public var started: Bool
        public var shuttingDown: Bool
        /// Draining while a successor process holds the listening sockets (a restart by
        /// hand-over): the node stays ready, since every new connection reaches the successor.
        public var handingOver = false
        public var degradation: DegradationStatus
        public var sessionsActive: Int
    }

    /// The metrics page, or nil when no Prometheus backend is set up.
    let metrics: @Sendable () -> [UInt8]?
    let health: @Sendable () -> HealthState

    public init(metrics: @escaping @Sendable () -> [UInt8]?, health: @escaping @Sendable () -> HealthState) {
        self.metrics = metrics
        self.health = health
    }

    public func respond(method: String, path: String) -> Response {
        guard method == "GET" || method == "HEAD" else { return Self.text(405, "method not allowed\n") }
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        switch route {
        case "/metrics":
            guard let body = metrics() else { return Self.text(404, "no metrics backend\n") }
            return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        case "/health/live":
            return Self.json(200, ["status": "alive"])
        case "/health/startup":
            let h = health()
            return Self.json(h.started ? 200 : 503, ["status": h.started ? "started" : "starting"])
        case "/health/ready":
            let h = health()
            let ready = h.started && (!h.shuttingDown || h.handingOver) && h.degradation.isReady
            var checks = h.degradation.checks
            checks["grpc"] = h.handingOver ? "handing_over" : h.shuttingDown ? "shutting_down" : (h.started ? "serving" : "starting")
            return Self.json(ready ? 200 : 503, [
                "status": ready ? "ready" : "not_ready",
                "degradation_level": h.degradation.name,
                "degradation_level_value": h.degradation.level,
                "sessions_active": h.sessionsActive,
                "checks": checks,
            ])
        default:
            return Self.text(404, "not found\n")
        }
    }

    static func text(_ status: Int, _ body: String) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(body.utf8))
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, contentType: "application/json", body: Array(data))
    }
}
