import Foundation

/// A key file could not be used; the message never contains a key.
public enum KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let m): "cannot read key file: \(m)"
        case .invalid(let m): "invalid key file: \(m)"
        }
    }
}

/// The API key file: a JSON list (or `{"keys": [...]}`) of
/// `{ "key_sha256": "<64 hex>" | "key": "<clear text>", "principal": "alice",
///    "roles": ["writer"], "nodes": ["node-a", "*"] }`.
///
/// `nodes: ["*"]` allows every node; `roles` defaults to `["reader"]`.
public enum KeyFile {
    struct Entry: Decodable {
        var key: String?
        var key_sha256: String?
        var principal: String
        var roles: [Role]?
        var nodes: [String]?
    }

    struct Wrapped: Decodable {
        var keys: [Entry]
    }

    public static func load(path: String) throws(KeyFileError) -> APIKeyStore {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable("\(path): \(error.localizedDescription)")
        }
        return try parse(data)
    }

    public static func parse(_ data: Data) throws(KeyFileError) -> APIKeyStore {
        let decoder = JSONDecoder()
        let entries: [Entry]
        if let list = try? decoder.decode([Entry].self, from: data) {
            entries = list
        } else if let wrapped = try? decoder.decode(Wrapped.self, from: data) {
            entries = wrapped.keys
        } else {
            throw .invalid("expected a JSON list of {key_sha256|key, principal, roles, nodes}")
        }
        var store = APIKeyStore()
        for (i, e) in entries.enumerated() {
            guard !e.principal.isEmpty else { throw .invalid("entry \(i): principal is required") }
            let principal = Principal(name: e.principal, roles: e.roles ?? [.reader], nodes: .init(e.nodes ?? []))
            switch (e.key, e.key_sha256) {
            case (let key?, nil):
                guard !key.isEmpty else { throw .invalid("entry \(i): key is empty") }
                store.add(key: key, principal: principal)
            case (nil, let digest?):
                try store.add(sha256Hex: digest, principal: principal)
            default:
                throw .invalid("entry \(i) (\(e.principal)): give exactly one of key_sha256 and key")
            }
        }
        return store
    }
}
