import GRPCH2
import KatoEngine
import KatoProto

/// `kato.v2.KnowledgeBaseService`: browsing a node's knowledge base (`KnowledgeBaseBrowsing`)
/// and deleting patterns (`KnowledgeBaseBrowsing.deletePattern`).
struct KnowledgeBaseService: ServiceProvider {
    let sessions: SessionRegistry
    var serviceName: String { Kato_V2_KnowledgeBaseService.serviceName }

    var methods: [ServerMethod] {
        [
            unary(Kato_V2_KnowledgeBaseService.listPatterns) { request, context in
                try await sessions.nodes.awaitCurrent(request.nodeID, context)  // patterns learned on another replica
                return try CallSupport.serve(context) { try KnowledgeBaseBrowsing.listPatterns(request, nodes: sessions.nodes, context) }
            },
            unary(Kato_V2_KnowledgeBaseService.getKnowledgeBaseStatistics) { request, context in
                try await sessions.nodes.awaitCurrent(request.nodeID, context)
                return try CallSupport.serve(context) { try KnowledgeBaseBrowsing.statistics(request, nodes: sessions.nodes, context) }
            },
            unary(Kato_V2_KnowledgeBaseService.deletePattern) { request, context in
                let (response, ticket) = try CallSupport.serve(context) {
                    try KnowledgeBaseBrowsing.deletePattern(request, nodes: sessions.nodes, context)
                }
                // Acknowledged only once the deletion is on disk, as a learn is.
                try await Durability.awaitDurable(ticket.map { [$0] } ?? [], context, "the deletion of \(response.name)")
                return response
            },
        ]
    }
}
