import GRPCH2
import KatoEngine
import KatoProto
import KatoStore

/// The work of `kato.v2.KnowledgeBaseService` (a console's pattern browser): a node's patterns
/// page by page, and its statistics. Reads need the `reader` role (`MethodPolicy`) and the node
/// among the principal's nodes.
enum KnowledgeBaseBrowsing {
    static let defaultPageSize = 50
    static let maxPageSize = 1000

    static func listPatterns(_ request: Kato_V2_ListPatternsRequest, nodes: NodeRegistry,
                             _ context: ServerContext) throws(KatoError) -> Kato_V2_ListPatternsResponse {
        try authorize(nodeID: request.nodeID, context)
        guard (0...maxPageSize).contains(Int(request.pageSize)) else {
            throw .invalid("page_size", "must be 0...\(maxPageSize) (0: \(defaultPageSize))")
        }
        let order: KnowledgeBase.PatternOrder
        switch request.order {
        case .unspecified, .frequencyDesc: order = .frequencyDescending
        case .name: order = .name
        case .lengthDesc: order = .lengthDescending
        case .learned: order = .learned
        default: throw .invalid("order", "unknown order \(request.order.rawValue)")
        }
        let query = PageQuery(order: Int(request.order.rawValue), symbol: request.symbol, namePrefix: request.namePrefix)
        let after = try query.key(fromToken: request.pageToken)
        let limit = request.pageSize == 0 ? defaultPageSize : Int(request.pageSize)
        let page = nodes.engine(for: request.nodeID).knowledgeBase.patterns(
            order: order, symbol: request.symbol.isEmpty ? nil : request.symbol,
            namePrefix: request.namePrefix.isEmpty ? nil : request.namePrefix, after: after, limit: limit)
        var response = Kato_V2_ListPatternsResponse()
        response.patterns = page.patterns.map(Convert.pattern)
        response.totalSize = Int64(page.total)
        if let next = page.next { response.nextPageToken = query.token(after: next) }
        return response
    }

    static func statistics(_ request: Kato_V2_GetKnowledgeBaseStatisticsRequest, nodes: NodeRegistry,
                           _ context: ServerContext) throws(KatoError) -> Kato_V2_KnowledgeBaseStatistics {
        try authorize(nodeID: request.nodeID, context)
        let stats = nodes.engine(for: request.nodeID).knowledgeBase.statistics()
        var m = Kato_V2_KnowledgeBaseStatistics()
        m.nodeID = request.nodeID
        m.patternCount = Int64(stats.patternCount)
        m.symbolCount = Int64(stats.symbolCount)
        m.totalFrequency = Int64(stats.totalFrequency)
        m.lengthDistribution = stats.lengthDistribution.sorted { $0.key < $1.key }.map {
            var c = Kato_V2_LengthCount()
            c.length = Int64($0.key)
            c.patterns = Int64($0.value)
            return c
        }
        m.topSymbols = stats.topSymbols.map {
            var c = Kato_V2_SymbolCount()
            c.symbol = $0.symbol
            c.frequency = Int64($0.stats.frequency)
            c.patternMemberFrequency = Int64($0.stats.patternMemberFrequency)
            return c
        }
        return m
    }

    static func authorize(nodeID: String, _ context: ServerContext) throws(KatoError) {
        guard !nodeID.isEmpty else { throw .invalid("node_id", "is required") }
        guard nodeID.utf8.count <= 256 else { throw .invalid("node_id", "at most 256 bytes") }
        if let principal = context.principal, !principal.mayUse(node: nodeID) {
            throw SessionRegistry.counted(SessionRegistry.nodeDenied(nodeID))
        }
    }

    /// A page token: the last pattern of the page by its sort key (keyset paging: valid while
    /// patterns are learned), bound to the order and filters it was made for (a token used with
    /// other filters would silently skip or repeat patterns).
    struct PageQuery {
        let order: Int
        let symbol: String
        let namePrefix: String

        private var fingerprint: String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
            for byte in "\(order)\u{0}\(symbol)\u{0}\(namePrefix)".utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            return String(hash, radix: 36)
        }

        func token(after key: KnowledgeBase.PageKey) -> String { "\(key.value).\(key.id).\(key.name).\(fingerprint)" }

        func key(fromToken token: String) throws(KatoError) -> KnowledgeBase.PageKey? {
            guard !token.isEmpty else { return nil }
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4, let value = Int(parts[0]), let id = Int32(parts[1]), id >= 0,
                  parts[2].utf8.count <= 64, parts[2].allSatisfy(\.isHexDigit) else {
                throw .invalid("page_token", "is not a token this server issued")
            }
            guard parts[3] == fingerprint else {
                throw .invalid("page_token", "was issued for another order or other filters")
            }
            return KnowledgeBase.PageKey(value: value, name: String(parts[2]), id: id)
        }
    }
}
