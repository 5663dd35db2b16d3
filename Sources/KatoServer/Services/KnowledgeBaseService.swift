import GRPCH2
import KatoEngine
import KatoProto

/// `kato.v2.KnowledgeBaseService`: browsing a node's knowledge base (`KnowledgeBaseBrowsing`).
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
        ]
    }
}
