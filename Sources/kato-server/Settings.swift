import ArgumentParser
import Foundation
import GRPCH2
import KatoServer
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
    var maxSessions = SessionRegistry.Configuration().maxSessions
    var predictionThreads = PredictionThreads.default
    /// `--postgres` URL (the password inside is never logged).
    var postgres: String?
    var postgresPoolSize = 10
    var adminHost = "127.0.0.1"
    var authKeys: String?
    var jwtHS256SecretFile: String?
    var jwtPublicKey: String?
    var jwtAudience: String?
    var jwtIssuer: String?
    var allowUnauthenticated = false
    var openHealth = true
    var openReflection = true
    var rateLimitPrincipalRate = 1_000_000.0
    var rateLimitPrincipalBurst = 1_000_000.0
    var rateLimitSessionRate = 100_000.0
    var rateLimitSessionBurst = 100_000.0
    var maxConcurrentCalls = 10_000
    /// The largest response message the server sends (a larger one ends its call with RESOURCE_EXHAUSTED).
    var maxSendMessageBytes = 64 * 1024 * 1024
    var accessLogLevel: Logger.Level? = .info
    var metrics = true
    var disableInterceptors = false
    var otlpEndpoint: String?
    var otlpServiceName = "kato-server"
    var otlpHeaders: [(name: String, value: String)] = []
    var otlpCertificate: String?
    var otlpFlushIntervalMs = 2000
    var otlpQueueSize = 2048
    var handlerExecution = ServerConfiguration.HandlerExecution.eventLoop
    /// `--subscription-write-delay-ms` (`ServerConfiguration.pushCoalescingDelay`), in µs.
    var subscriptionWriteDelayMicros = 2_000
    /// gRPC-Web and Connect over HTTP/1.1 on the gRPC port (docs/WEB.md).
    var webProtocols = true
    var corsOrigins: [String] = []
    var webRequestTimeoutSeconds = 60
    var jsonIgnoreUnknownFields = false
    /// `--config`: read once for the settings, and watched for its `flags` section.
    var configPath: String?
    var drainDelayMs = 0
    var shutdownGraceMs = 10_000

    init(command: KatoServerCommand) throws {
        let env = ProcessInfo.processInfo.environment
        var file: [String: String] = [:]
        if let path = command.config ?? env["KATO_CONFIG"] {
            file = try ConfigFile.load(path)
            configPath = path
        }
        func pick(_ flag: String?, _ key: String) -> String? {
            if let flag { return flag }
            if let v = env["KATO_" + key.uppercased().replacingOccurrences(of: "-", with: "_")] { return v }
            if let v = file[key.replacingOccurrences(of: "-", with: "_")] { return v }
            return nil
        }
        func int(_ flag: Int?, _ key: String, _ fallback: Int) throws -> Int {
            guard let text = pick(flag.map(String.init), key) else { return fallback }
            guard let v = Int(text) else { throw ValidationError("\(key) must be an integer (got \(text))") }
            return v
        }
        host = pick(command.host, "host") ?? host
        port = try int(command.port, "port", port)
        // A server on a free gRPC port (tests, tools) gets a free admin port too, not a clash on 50052.
        adminPort = try int(command.adminPort, "admin-port", port == 0 ? 0 : adminPort)
        dataDir = pick(command.dataDir, "data-dir") ?? dataDir
        tlsCert = pick(command.tlsCert, "tls-cert")
        tlsKey = pick(command.tlsKey, "tls-key")
        tlsClientCA = pick(command.tlsClientCA, "tls-client-ca")
        sessionCleanupSeconds = try int(command.sessionCleanupSeconds, "session-cleanup-seconds", sessionCleanupSeconds)
        maxSessions = try int(command.maxSessions, "max-sessions", maxSessions)
        predictionThreads.threads = try int(command.predictionThreads, "prediction-threads", predictionThreads.threads)
        predictionThreads.minimumCandidatesPerThread = try int(
            command.predictionSplitCandidates, "prediction-split-candidates", predictionThreads.minimumCandidatesPerThread)
        predictionThreads.minimumPatterns = try int(
            command.predictionSplitPatterns, "prediction-split-patterns", predictionThreads.minimumPatterns)
        postgres = pick(command.postgres, "postgres").flatMap { $0.isEmpty ? nil : $0 }
        postgresPoolSize = try int(command.postgresPoolSize, "postgres-pool-size", postgresPoolSize)
        func bool(_ flag: String?, _ key: String, _ fallback: Bool) throws -> Bool {
            guard let text = pick(flag, key)?.lowercased() else { return fallback }
            switch text {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw ValidationError("\(key) must be true or false (got \(text))")
            }
        }
        func double(_ flag: Double?, _ key: String, _ fallback: Double) throws -> Double {
            guard let text = pick(flag.map { String($0) }, key) else { return fallback }
            guard let v = Double(text), v >= 0 else { throw ValidationError("\(key) must be a number >= 0 (got \(text))") }
            return v
        }
        adminHost = pick(command.adminHost, "admin-host") ?? adminHost
        authKeys = pick(command.authKeys, "auth-keys")
        jwtHS256SecretFile = pick(command.jwtHS256SecretFile, "jwt-hs256-secret-file")
        jwtPublicKey = pick(command.jwtPublicKey, "jwt-public-key")
        jwtAudience = pick(command.jwtAudience, "jwt-audience")
        jwtIssuer = pick(command.jwtIssuer, "jwt-issuer")
        allowUnauthenticated = try bool(command.allowUnauthenticated ? "true" : nil, "allow-unauthenticated", false)
        openHealth = try bool(command.openHealth, "open-health", true)
        openReflection = try bool(command.openReflection, "open-reflection", true)
        rateLimitPrincipalRate = try double(command.rateLimitPrincipalRate, "rate-limit-principal-rate", rateLimitPrincipalRate)
        rateLimitPrincipalBurst = try double(command.rateLimitPrincipalBurst, "rate-limit-principal-burst", max(1, rateLimitPrincipalRate))
        rateLimitSessionRate = try double(command.rateLimitSessionRate, "rate-limit-session-rate", rateLimitSessionRate)
        rateLimitSessionBurst = try double(command.rateLimitSessionBurst, "rate-limit-session-burst", max(1, rateLimitSessionRate))
        maxConcurrentCalls = try int(command.maxConcurrentCalls, "max-concurrent-calls", maxConcurrentCalls)
        maxSendMessageBytes = try int(command.maxSendMessageBytes, "max-send-message-bytes", maxSendMessageBytes)
        if let level = pick(command.accessLogLevel, "access-log-level") {
            if level == "off" || level == "none" {
                accessLogLevel = nil
            } else {
                guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown access log level \(level)") }
                accessLogLevel = parsed
            }
        }
        metrics = try bool(command.metrics, "metrics", true)
        webProtocols = try bool(command.webProtocols, "web-protocols", true)
        webRequestTimeoutSeconds = try int(command.webRequestTimeout, "web-request-timeout", webRequestTimeoutSeconds)
        guard webRequestTimeoutSeconds >= 1 else { throw ValidationError("web-request-timeout must be >= 1 second") }
        jsonIgnoreUnknownFields = try bool(command.jsonIgnoreUnknownFields, "json-ignore-unknown-fields", false)
        corsOrigins = (pick(command.corsOrigin, "cors-origin") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for origin in corsOrigins where origin != "*" && !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("cors-origin entries are * or http(s)://HOST[:PORT] origins (got \(origin))")
        }
        disableInterceptors = try bool(command.disableInterceptors ? "true" : nil, "disable-interceptors", false)
        // kato's own settings first, then OpenTelemetry's standard environment variables.
        otlpEndpoint = try pick(command.otlpEndpoint, "otlp-endpoint").map { $0.isEmpty ? nil : $0 } ?? Self.openTelemetryEndpoint(env)
        otlpServiceName = pick(command.otlpServiceName, "otlp-service-name")
            ?? env["OTEL_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? otlpServiceName
        func otel(_ name: String) -> String? {  // the traces-specific variable, else the general one
            (env["OTEL_EXPORTER_OTLP_TRACES_" + name] ?? env["OTEL_EXPORTER_OTLP_" + name]).flatMap { $0.isEmpty ? nil : $0 }
        }
        if let text = pick(command.otlpHeaders, "otlp-headers") ?? otel("HEADERS") {
            otlpHeaders = try Self.otlpHeaders(text)
        }
        otlpCertificate = pick(command.otlpCertificate, "otlp-certificate") ?? otel("CERTIFICATE")
        otlpFlushIntervalMs = try int(command.otlpFlushIntervalMs, "otlp-flush-interval-ms", otlpFlushIntervalMs)
        otlpQueueSize = try int(command.otlpQueueSize, "otlp-queue-size", otlpQueueSize)
        switch pick(command.handlerExecution, "handler-execution") {
        case nil, "event-loop": handlerExecution = .eventLoop
        case "pool": handlerExecution = .concurrentPool
        case let other?: throw ValidationError("handler-execution must be event-loop or pool (got \(other))")
        }
        if let text = pick(command.subscriptionWriteDelayMs.map { String($0) }, "subscription-write-delay-ms") {
            guard let ms = Double(text), ms >= 0, ms <= 100 else {
                throw ValidationError("subscription-write-delay-ms must be 0…100 milliseconds (got \(text))")
            }
            subscriptionWriteDelayMicros = Int((ms * 1000).rounded())
        }
        func seconds(_ flag: Double?, _ key: String, _ fallbackMs: Int, max: Double) throws -> Int {
            guard let text = pick(flag.map { String($0) }, key) else { return fallbackMs }
            guard let v = Double(text), v >= 0, v <= max else { throw ValidationError("\(key) must be 0…\(Int(max)) seconds (got \(text))") }
            return Int((v * 1000).rounded())
        }
        drainDelayMs = try seconds(command.drainDelay, "drain-delay", drainDelayMs, max: 300)
        shutdownGraceMs = try seconds(command.shutdownGrace, "shutdown-grace", shutdownGraceMs, max: 3600)
        guard otlpFlushIntervalMs >= 1 else { throw ValidationError("otlp-flush-interval-ms must be >= 1") }
        guard otlpQueueSize >= 1 else { throw ValidationError("otlp-queue-size must be >= 1") }
        guard maxConcurrentCalls >= 0 else { throw ValidationError("max-concurrent-calls must be >= 0") }
        guard maxSendMessageBytes >= 1024 else { throw ValidationError("max-send-message-bytes must be >= 1024") }
        guard (-1...65535).contains(adminPort) else { throw ValidationError("admin-port must be 0...65535, or -1 for none") }
        if let level = pick(command.logLevel, "log-level") {
            guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
            logLevel = parsed
        }
        guard (0...65535).contains(port) else { throw ValidationError("port must be 0...65535") }
        guard sessionCleanupSeconds >= 1 else { throw ValidationError("session-cleanup-seconds must be >= 1") }
        guard maxSessions >= 1 else { throw ValidationError("max-sessions must be >= 1") }
        guard (1...64).contains(predictionThreads.threads) else { throw ValidationError("prediction-threads must be 1…64") }
        guard predictionThreads.minimumCandidatesPerThread >= 1 else { throw ValidationError("prediction-split-candidates must be >= 1") }
        guard predictionThreads.minimumPatterns >= 0 else { throw ValidationError("prediction-split-patterns must be >= 0") }
        guard (1...1000).contains(postgresPoolSize) else { throw ValidationError("postgres-pool-size must be 1…1000") }
    }

    /// The traces endpoint from OpenTelemetry's exporter variables, for a server given no
    /// `otlp-endpoint` of its own: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; none with `OTEL_TRACES_EXPORTER=none`.
    /// Spans are sent as OTLP/HTTP JSON, which collectors accept on the HTTP port whatever
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` says of HTTP; `grpc` is refused (not spoken here).
    static func openTelemetryEndpoint(_ env: [String: String]) throws -> String? {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if value("OTEL_TRACES_EXPORTER")?.lowercased() == "none" { return nil }
        let signal = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        let base = value("OTEL_EXPORTER_OTLP_ENDPOINT")
        guard signal != nil || base != nil else { return nil }
        let protocolName = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? value("OTEL_EXPORTER_OTLP_PROTOCOL")
        if let protocolName, !["http/json", "http/protobuf"].contains(protocolName) {
            throw ValidationError("OTEL_EXPORTER_OTLP_PROTOCOL \(protocolName) is not supported: kato-server exports OTLP/HTTP (JSON)")
        }
        if let signal { return signal }
        var url = base!
        while url.hasSuffix("/") { url.removeLast() }
        return url + "/v1/traces"
    }

    /// `name=value,name2=value2` (OpenTelemetry's `OTEL_EXPORTER_OTLP_HEADERS` form: values
    /// percent-encoded, spaces around entries ignored).
    static func otlpHeaders(_ text: String) throws -> [(name: String, value: String)] {
        try text.split(separator: ",").enumerated().compactMap { position, entry in
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return nil }
            guard let eq = trimmed.firstIndex(of: "="), eq != trimmed.startIndex else {
                // By position only: an entry without "=" may be a credential.
                throw ValidationError("otlp-headers: entry \(position + 1) is not name=value")
            }
            let name = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let raw = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) else {
                throw ValidationError("otlp-headers: bad header name '\(name)'")
            }
            guard let value = raw.removingPercentEncoding, !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw ValidationError("otlp-headers: the value of '\(name)' is not valid percent-encoding")  // never echoes a value
            }
            return (name, value)
        }
    }
}
