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

/// The key file: a JSON list (or `{"keys": [...]}`) of one credential per entry,
/// `{ "key_sha256": "<64 hex>" | "key": "<clear text>"
///    | "cert_sha256": "<SHA-256 fingerprint>" | "cert_subject": "CN=…,O=…",
///    "principal": "alice", "roles": ["writer"], "nodes": ["node-a", "*"] }`.
///
/// `key`/`key_sha256` are API keys; `cert_sha256`/`cert_subject` map a client certificate of a
/// mutual-TLS connection (see `CertificatePrincipals`). Entries with the same `principal` are
/// the same caller. `nodes: ["*"]` allows every node; `roles` defaults to `["reader"]`.
public enum KeyFile {
    /// Everything a key file maps to principals.
    public struct Contents: Sendable {
        public var keys = APIKeyStore()
        public var certificates = CertificatePrincipals()

        public init() {}
    }

    struct Entry: Decodable {
        var key: String?
        var key_sha256: String?
        var cert_sha256: String?
        var cert_subject: String?
        var principal: String
        var roles: [Role]?
        var nodes: [String]?
    }

    struct Wrapped: Decodable {
        var keys: [Entry]
    }

    /// The API keys of the file at `path`.
    public static func load(path: String) throws(KeyFileError) -> APIKeyStore {
        try loadContents(path: path).keys
    }

    /// The API keys and certificate mappings of the file at `path`.
    public static func loadContents(path: String) throws(KeyFileError) -> Contents {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable("\(path): \(error.localizedDescription)")
        }
        return try parseContents(data)
    }

    /// The API keys of a key file's text.
    public static func parse(_ data: Data) throws(KeyFileError) -> APIKeyStore {
        try parseContents(data).keys
    }

    /// The API keys and certificate mappings of a key file's text.
    public static func parseContents(_ data: Data) throws(KeyFileError) -> Contents {
        let decoder = JSONDecoder()
        let entries: [Entry]
        if let list = try? decoder.decode([Entry].self, from: data) {
            entries = list
        } else if let wrapped = try? decoder.decode(Wrapped.self, from: data) {
            entries = wrapped.keys
        } else {
            throw .invalid("expected a JSON list of {key_sha256|key|cert_sha256|cert_subject, principal, roles, nodes}")
        }
        var contents = Contents()
        for (i, e) in entries.enumerated() {
            guard !e.principal.isEmpty else { throw .invalid("entry \(i): principal is required") }
            let principal = Principal(name: e.principal, roles: e.roles ?? [.reader], nodes: .init(e.nodes ?? []))
            switch (e.key, e.key_sha256, e.cert_sha256, e.cert_subject) {
            case (let key?, nil, nil, nil):
                guard !key.isEmpty else { throw .invalid("entry \(i): key is empty") }
                contents.keys.add(key: key, principal: principal)
            case (nil, let digest?, nil, nil):
                try contents.keys.add(sha256Hex: digest, principal: principal)
            case (nil, nil, let fingerprint?, nil):
                try contents.certificates.add(sha256Fingerprint: fingerprint, principal: principal)
            case (nil, nil, nil, let subject?):
                try contents.certificates.add(subject: subject, principal: principal)
            default:
                throw .invalid("entry \(i) (\(e.principal)): give exactly one of key_sha256, key, cert_sha256 and cert_subject")
            }
        }
        return contents
    }
}
