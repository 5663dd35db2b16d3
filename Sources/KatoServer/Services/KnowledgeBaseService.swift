import GRPCH2
import KatoEngine
import KatoProto

/// `kato.v2.KnowledgeBaseService`: browsing a node's knowledge base (`KnowledgeBaseBrowsing`),
/// deleting a pattern or the whole knowledge base (`KnowledgeBaseBrowsing+Delete`).
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
                try CallSupport.serve(context) { try KnowledgeBaseBrowsing.checkDelete(request, nodes: sessions.nodes, context) }
                // With --postgres: committed in the node's versioned transaction (every replica applies it in order).
                let (response, ticket) = try await sessions.nodes.writing(request.nodeID, context, "the deletion of the pattern") {
                    try CallSupport.serve(context) { try KnowledgeBaseBrowsing.deletePattern(request, nodes: sessions.nodes) }
                }
                // Acknowledged only once the deletion is on disk, as a learn is.
                try await Durability.awaitDurable(ticket.map { [$0] } ?? [], context, "the deletion of \(response.name)")
                return response
            },
            unary(Kato_V2_KnowledgeBaseService.deleteKnowledgeBase) { request, context in
                try CallSupport.serve(context) { try KnowledgeBaseBrowsing.authorize(nodeID: request.nodeID, context) }
                let (response, ticket) = try await sessions.nodes.writing(request.nodeID, context, "the deletion of the knowledge base") {
                    try CallSupport.serve(context) { try KnowledgeBaseBrowsing.deleteKnowledgeBase(request, nodes: sessions.nodes) }
                }
                try await Durability.awaitDurable(ticket.map { [$0] } ?? [], context, "the deletion of the knowledge base of \(request.nodeID)")
                return response
            },
        ]
    }
}
