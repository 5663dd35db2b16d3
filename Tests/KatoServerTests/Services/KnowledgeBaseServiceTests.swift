import GRPCH2Core
import KatoProto
import XCTest

@testable import KatoServer

/// kato.v2.KnowledgeBaseService in process: a node's learned patterns listed and counted, one
/// deleted as if never learned, and a name that is not there refused without a change.
final class KnowledgeBaseServiceTests: XCTestCase {
    /// Learns each sequence (one symbol per event) on node n1; returns the pattern names.
    func learn(_ kato: InProcessKato, _ sequences: [[String]]) async throws -> [String] {
        let id = try await kato.createSession()
        var names: [String] = []
        for sequence in sequences {
            for symbol in sequence {
                var observe = Kato_V2_ObserveRequest()
                observe.sessionID = id
                observe.strings = [symbol]
                _ = try await kato.ok(Kato_V2_ObserveService.observe, observe)
            }
            var learn = Kato_V2_LearnRequest()
            learn.sessionID = id
            names.append(try await kato.ok(Kato_V2_ObserveService.learn, learn).patternName)
        }
        return names
    }

    func statistics(_ kato: InProcessKato) async throws -> Kato_V2_KnowledgeBaseStatistics {
        var request = Kato_V2_GetKnowledgeBaseStatisticsRequest()
        request.nodeID = "n1"
        return try await kato.ok(Kato_V2_KnowledgeBaseService.getKnowledgeBaseStatistics, request)
    }

    func testLearnedPatternsAreListedAndCounted() async throws {
        let kato = try InProcessKato()
        let names = try await learn(kato, [["a", "b"], ["c", "d", "e"]])
        var list = Kato_V2_ListPatternsRequest()
        list.nodeID = "n1"
        let listed = try await kato.ok(Kato_V2_KnowledgeBaseService.listPatterns, list)
        XCTAssertEqual(listed.totalSize, 2)
        XCTAssertEqual(Set(listed.patterns.map(\.name).map { $0.hasPrefix("PTRN|") ? $0 : "PTRN|" + $0 }), Set(names))
        let stats = try await statistics(kato)
        XCTAssertEqual(stats.patternCount, 2)
        XCTAssertEqual(stats.symbolCount, 5)
    }

    func testADeletedPatternIsGoneAndAnUnknownOneIsNotFound() async throws {
        let kato = try InProcessKato()
        let names = try await learn(kato, [["a", "b"], ["c", "d"]])
        var delete = Kato_V2_DeletePatternRequest()
        delete.nodeID = "n1"
        delete.name = names[0]
        let deleted = try await kato.ok(Kato_V2_KnowledgeBaseService.deletePattern, delete)
        XCTAssertEqual(deleted.patternCount, 1)
        let (_, again) = await kato.unary(Kato_V2_KnowledgeBaseService.deletePattern, delete)
        XCTAssertEqual(again.code, .notFound)
        XCTAssertEqual(again.errorInfo?.reason, "PATTERN_NOT_FOUND")
        let stats = try await statistics(kato)
        XCTAssertEqual(stats.patternCount, 1, "the refused delete changed nothing")
    }
}
