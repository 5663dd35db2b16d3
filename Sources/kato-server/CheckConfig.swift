import Foundation
import KatoPostgres
import KatoServer

/// `kato-server --check-config`: everything the server would read at start-up, read and checked,
/// without binding a port, opening the data directory or connecting anywhere. Settings, key files
/// and JWT keys were already parsed by then (their errors exit through ArgumentParser); this adds
/// what is only checked when used.
extension KatoServerCommand {
    static func finishCheck(_ settings: Settings, _ configuration: KatoServerApp.Configuration) -> Never {
        var problems: [String] = []
        for (flag, path) in [("tls-cert", settings.tlsCert), ("tls-key", settings.tlsKey), ("tls-client-ca", settings.tlsClientCA)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) { problems.append("--\(flag) \(path) cannot be read") }
        }
        if let url = settings.postgres {
            do { _ = try PostgresSettings(url: url) } catch { problems.append(error.description) }
        }
        guard problems.isEmpty else {
            for p in problems { FileHandle.standardError.write(Data("kato-server: \(p)\n".utf8)) }
            Foundation.exit(2)
        }
        let store = settings.postgres.map { url in (try? PostgresSettings(url: url)).map(\.description) ?? url }
            ?? configuration.dataDirectory.map { "data directory \($0)" } ?? "in memory"
        var off = configuration.flags.features.filter { !$0.enabled && $0.name != "maintenance" }.map { $0.name }
        if configuration.flags.maintenance { off.append("everything (maintenance mode)") }
        let flags = settings.configPath == nil ? "none" : off.isEmpty ? "all features on" : "off: \(off.joined(separator: ", "))"
        print("configuration is valid: gRPC \(settings.host):\(settings.port), knowledge base \(store), authentication \(configuration.authenticator == nil ? "off" : "on"), feature flags \(flags)")
        Foundation.exit(0)
    }
}
