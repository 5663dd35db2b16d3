import Foundation
import GRPCH2
import NIOConcurrencyHelpers
import Synchronization

/// The web console at `/console/` on the gRPC port (docs/CONSOLE.md): its static files, embedded in
/// the binary (`ConsoleAssets`), and `status.json` — the server's health, degradation level, call
/// counters and sessions, which no RPC reports. Everything else the page shows it gets from kato's
/// own API (Connect JSON), through the same interceptors as any client.
///
/// Every response carries a strict Content-Security-Policy (scripts and styles from this origin's
/// files only: no inline script, no `eval`, no other origin) and `nosniff`; the page renders every
/// server-supplied string as text. `status.json` needs the same credentials as the API when
/// authentication is on (the `reader` role; non-admins see only their own nodes' sessions).
enum ConsoleRoute {
    static let prefix = "/console/"
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    /// Sessions listed in `status.json` (the count is always complete).
    static let maxListedSessions = 200

    static func route(sessions: SessionRegistry, authenticator: Authenticator?, admin: AdminRoutes) -> HTTPGetRoute {
        let started = ContinuousClock.now
        let files = ConsoleAssets.files.mapValues { (contentType: $0.contentType, body: Array($0.body.utf8)) }
        return HTTPGetRoute(pathPrefix: prefix) { request in
            if request.path == "/console" { return ConsoleRoute.redirect() }
            let name = String(request.path.dropFirst(ConsoleRoute.prefix.count))
            if name == "status.json" {
                return await ConsoleRoute.status(request, sessions: sessions, authenticator: authenticator, admin: admin, since: started)
            }
            guard let file = files[name.isEmpty ? "index.html" : name] else {
                return ConsoleRoute.response(404, "text/plain; charset=utf-8", Array("not found\n".utf8))
            }
            return ConsoleRoute.response(200, file.contentType, file.body)
        }
    }

    static func response(_ status: Int, _ contentType: String, _ body: [UInt8]) -> HTTPGetResponse {
        HTTPGetResponse(status: status, headers: [
            ("content-type", contentType), ("content-security-policy", contentSecurityPolicy),
            ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"),
            ("x-frame-options", "DENY"), ("cache-control", "no-cache"),
        ], body: body)
    }

    static func redirect() -> HTTPGetResponse {
        HTTPGetResponse(status: 308, headers: [("location", prefix), ("content-security-policy", contentSecurityPolicy)], body: [])
    }

    static func json(_ status: Int, _ object: [String: Any]) -> HTTPGetResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return response(status, "application/json", Array(data))
    }

    /// `status.json`: what the admin port's `/health/ready` and `/metrics` say, summed for a page.
    static func status(_ request: HTTPGetRequest, sessions: SessionRegistry, authenticator: Authenticator?,
                       admin: AdminRoutes, since started: ContinuousClock.Instant) async -> HTTPGetResponse {
        var principal = Principal.anonymous
        if let authenticator {
            var metadata = Metadata()
            for (name, value) in request.headers where name == "authorization" || name == "x-api-key" {
                metadata.addString(value, forKey: name)
            }
            do {
                principal = try await authenticator.authenticate(metadata)
            } catch {
                let code = error.code == .unauthenticated ? "unauthenticated" : "permission_denied"
                return json(error.code == .unauthenticated ? 401 : 403, ["code": code, "message": error.message])
            }
        }
        let health = admin.health()
        let elapsed = ContinuousClock.now - started
        var object: [String: Any] = [
            "serving": health.started && !health.shuttingDown && health.degradation.isReady,
            "degradation": ["level": health.degradation.level, "name": health.degradation.name, "checks": health.degradation.checks],
            "uptime_seconds": elapsed.components.seconds,
            "sessions_active": health.sessionsActive,
            "calls_total": NSNull(), "calls_failed": NSNull(),
        ]
        if let page = admin.metrics() {
            let calls = CallCounters(prometheusText: page)
            object["calls_total"] = calls.handled
            object["calls_failed"] = calls.failed
        }
        object["sessions"] = listedSessions(sessions, for: principal)
        return json(200, object)
    }

    static func listedSessions(_ registry: SessionRegistry, for principal: Principal) -> [[String: Any]] {
        let all = registry.state.withLock { Array($0.sessions.values) }
        var listed: [[String: Any]] = []
        for session in all.sorted(by: { $0.createdAt > $1.createdAt }) where listed.count < maxListedSessions {
            guard principal.mayUse(node: session.nodeID),
                  principal.role == .admin || session.owner == nil || session.owner == principal.name else { continue }
            let (events, subscribers) = session.state.withLockedValue { ($0.engineState.stm.count, $0.subscribers.count) }
            listed.append(["session_id": session.publicID, "node_id": session.nodeID,
                           "stm_events": events, "subscribers": subscribers])
        }
        return listed
    }
}

/// Calls handled and failed, summed over methods from the go-grpc-prometheus counters of the
/// metrics page (`grpc_server_handled_total{…,grpc_code="…"}`).
struct CallCounters {
    var handled = 0
    var failed = 0

    init(prometheusText: [UInt8]) {
        for line in String(decoding: prometheusText, as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("grpc_server_handled_total{") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            handled += Int(value)
            if !line.contains("grpc_code=\"OK\"") { failed += Int(value) }
        }
    }
}
