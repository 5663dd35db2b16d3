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
}
