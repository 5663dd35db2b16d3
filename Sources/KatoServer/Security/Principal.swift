/// What a caller may do: `reader` reads sessions of its nodes, `writer` also creates sessions
/// and changes the ones it owns (and its nodes' default sessions), `admin` may do anything.
public enum Role: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case reader
    case writer
    case admin

    var rank: Int {
        switch self {
        case .reader: 0
        case .writer: 1
        case .admin: 2
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// An authenticated caller: its name (sessions it creates are owned by it), its highest role,
/// and the node ids it may use.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    /// The node ids a principal may use.
    public enum Nodes: Sendable, Hashable {
        case all
        case only(Set<String>)

        /// `["*"]` means every node.
        public init(_ list: [String]) {
            self = list.contains("*") ? .all : .only(Set(list))
        }

        public func contains(_ node: String) -> Bool {
            switch self {
            case .all: true
            case .only(let set): set.contains(node)
            }
        }
    }

    public var name: String
    public var role: Role
    public var nodes: Nodes

    public init(name: String, role: Role, nodes: Nodes) {
        self.name = name
        self.role = role
        self.nodes = nodes
    }

    /// The highest of `roles` (reader when empty).
    public init(name: String, roles: [Role], nodes: Nodes) {
        self.init(name: name, role: roles.max() ?? .reader, nodes: nodes)
    }

    /// Whoever calls while authentication is off: an admin of every node.
    public static let anonymous = Principal(name: "anonymous", role: .admin, nodes: .all)

    public func has(_ role: Role) -> Bool { self.role >= role }

    /// Admins reach every node; others the ones listed for them.
    public func mayUse(node: String) -> Bool { role == .admin || nodes.contains(node) }

    public var description: String { name }
}
