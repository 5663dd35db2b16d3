import GRPCH2
import KatoProto

extension KatoClient {
    /// One page of a node's patterns (`KnowledgeBaseService.ListPatterns`): `pageToken` is the
    /// previous page's `nextPageToken` ("" for the first page; the last page returns "").
    public func listPatterns(nodeID: String, order: Kato_V2_PatternOrder = .frequencyDesc, symbol: String = "",
                             namePrefix: String = "", pageSize: Int32 = 50, pageToken: String = "") async throws -> Kato_V2_ListPatternsResponse {
        var request = Kato_V2_ListPatternsRequest()
        request.nodeID = nodeID
        request.order = order
        request.symbol = symbol
        request.namePrefix = namePrefix
        request.pageSize = pageSize
        request.pageToken = pageToken
        return try await call(Kato_V2_KnowledgeBaseService.listPatterns, request)
    }

    /// A node's knowledge-base statistics: counts, total frequency, lengths, top symbols.
    public func knowledgeBaseStatistics(nodeID: String) async throws -> Kato_V2_KnowledgeBaseStatistics {
        var request = Kato_V2_GetKnowledgeBaseStatisticsRequest()
        request.nodeID = nodeID
        return try await call(Kato_V2_KnowledgeBaseService.getKnowledgeBaseStatistics, request)
    }

    /// Deletes one pattern of a node (`KnowledgeBaseService.DeletePattern`, admin role): the node then
    /// predicts as if it had never learned it. NOT_FOUND when there is no such pattern.
    public func deletePattern(nodeID: String, name: String) async throws -> Kato_V2_DeletePatternResponse {
        var request = Kato_V2_DeletePatternRequest()
        request.nodeID = nodeID
        request.name = name
        return try await call(Kato_V2_KnowledgeBaseService.deletePattern, request)
    }

    /// Deletes a node's whole knowledge base (`KnowledgeBaseService.DeleteKnowledgeBase`, admin
    /// role): its patterns, symbol statistics and totals; the node's sessions are left alone.
    public func deleteKnowledgeBase(nodeID: String) async throws -> Kato_V2_DeleteKnowledgeBaseResponse {
        var request = Kato_V2_DeleteKnowledgeBaseRequest()
        request.nodeID = nodeID
        return try await call(Kato_V2_KnowledgeBaseService.deleteKnowledgeBase, request)
    }
}
