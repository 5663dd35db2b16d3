import GRPCH2
import KatoEngine
import KatoProto
import KatoStore

/// Deleting from a node's knowledge base (the `admin` role is checked before the handler,
/// `MethodPolicy`): memory at once, the disk before the returned ticket resolves. With
/// `--postgres` the handler runs these inside `NodeRegistry.writing`, so the change is committed
/// in the node's versioned transaction and every replica applies it in version order.
extension KnowledgeBaseBrowsing {
    /// The request's checks, made before any store is touched.
    static func checkDelete(_ request: Kato_V2_DeletePatternRequest, nodes: NodeRegistry, _ context: ServerContext) throws {
        try authorize(nodeID: request.nodeID, context)
        guard !request.name.isEmpty else { throw KatoError.invalid("name", "is required") }
        guard request.name.utf8.count <= 256 else { throw KatoError.invalid("name", "at most 256 bytes") }
    }

    /// Deletes one pattern (after ``checkDelete(_:nodes:_:)``).
    static func deletePattern(_ request: Kato_V2_DeletePatternRequest, nodes: NodeRegistry) throws -> (Kato_V2_DeletePatternResponse, DurabilityTicket?) {
        try Durability.checkWrites(nodes.level)
        let node = nodes.durable(for: request.nodeID)
        let (deleted, ticket) = try node.recordDelete { node.knowledgeBase.deletePattern(named: request.name) }
        guard let deleted else { throw KatoError.patternNotFound(request.name) }
        var m = Kato_V2_DeletePatternResponse()
        m.nodeID = request.nodeID
        m.name = Naming.publicName(deleted.name)
        m.patternCount = Int64(node.knowledgeBase.patternCount)
        return (m, ticket)
    }

    /// Deletes the node's whole knowledge base — patterns, symbol statistics, totals — as
    /// ClearAllMemory's clear does (the same durable write), but needing no session and leaving
    /// sessions alone. An empty knowledge base is deleted too (0 patterns): the call is idempotent.
    static func deleteKnowledgeBase(_ request: Kato_V2_DeleteKnowledgeBaseRequest, nodes: NodeRegistry) throws -> (Kato_V2_DeleteKnowledgeBaseResponse, DurabilityTicket?) {
        try Durability.checkWrites(nodes.level)
        let node = nodes.durable(for: request.nodeID)
        var patterns = 0, symbols = 0
        let ticket = try node.recordClear {
            // Counted where the clear runs: under the node's write gate (durable or --postgres).
            patterns = node.knowledgeBase.patternCount
            symbols = node.knowledgeBase.symbolCount
            node.knowledgeBase.clear()
        }
        var m = Kato_V2_DeleteKnowledgeBaseResponse()
        m.nodeID = request.nodeID
        m.patternsDeleted = Int64(patterns)
        m.symbolsDeleted = Int64(symbols)
        return (m, ticket)
    }
}
