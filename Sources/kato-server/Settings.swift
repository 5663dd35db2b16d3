import ArgumentParser
import Foundation
import Logging

/// The server's settings after merging flags, `KATO_*` environment variables and the
/// config file (in that order of precedence), with embedded defaults for the rest.
struct Settings {
    var host = "127.0.0.1"
    var port = 50051
    var adminPort = 50052
    var dataDir = "./data"
    var tlsCert: String?
    var tlsKey: String?
    var tlsClientCA: String?
    var logLevel = Logger.Level.info
    var sessionCleanupSeconds = 10

    init(command: KatoServerCommand) throws {
        let env = ProcessInfo.processInfo.environment
        var file: [String: Any] = [:]
        if let path = command.config ?? env["KATO_CONFIG"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("config file \(path) must hold a JSON object")
            }
            file = object
        }
        func pick(_ flag: String?, _ key: String) -> String? {
            if let flag { return flag }
            if let v = env["KATO_" + key.uppercased().replacingOccurrences(of: "-", with: "_")] { return v }
            if let v = file[key.replacingOccurrences(of: "-", with: "_")] { return "\(v)" }
            return nil
        }
        func int(_ flag: Int?, _ key: String, _ fallback: Int) throws -> Int {
            guard let text = pick(flag.map(String.init), key) else { return fallback }
            guard let v = Int(text) else { throw ValidationError("\(key) must be an integer (got \(text))") }
            return v
        }
        host = pick(command.host, "host") ?? host
        port = try int(command.port, "port", port)
        adminPort = try int(command.adminPort, "admin-port", adminPort)
        dataDir = pick(command.dataDir, "data-dir") ?? dataDir
        tlsCert = pick(command.tlsCert, "tls-cert")
        tlsKey = pick(command.tlsKey, "tls-key")
        tlsClientCA = pick(command.tlsClientCA, "tls-client-ca")
        sessionCleanupSeconds = try int(command.sessionCleanupSeconds, "session-cleanup-seconds", sessionCleanupSeconds)
        if let level = pick(command.logLevel, "log-level") {
            guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
            logLevel = parsed
        }
        guard (0...65535).contains(port) else { throw ValidationError("port must be 0...65535") }
        guard sessionCleanupSeconds >= 1 else { throw ValidationError("session-cleanup-seconds must be >= 1") }
    }
}
