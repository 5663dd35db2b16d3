import Foundation
import XCTest
@testable import KatoEngine

/// Repository root, found from this file's path (Tests/KatoEngineTests/TestSupport.swift).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Loads `Tests/KatoEngineTests/Fixtures/<name>` as a JSON array of objects.
func loadFixture(_ name: String) throws -> [[String: Any]] {
    let url = repositoryRoot.appendingPathComponent("Tests/KatoEngineTests/Fixtures/\(name)")
    let data = try Data(contentsOf: url)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
}

func double(fromHex hex: String) -> Double {
    Double(bitPattern: UInt64(hex, radix: 16)!)
}

/// A fresh engine and session with `config`.
func makeEngine(_ config: EngineConfig = .defaults) throws -> (KatoEngine, SessionState) {
    (KatoEngine(knowledgeBase: KnowledgeBase()), try SessionState(config: config))
}

extension KatoEngine {
    /// Observes one event per element of `events` and returns the last result.
    @discardableResult
    func observeEvents(_ events: [[String]], in session: inout SessionState) throws -> ObserveResult? {
        var last: ObserveResult?
        for e in events { last = try observe(Observation(strings: e), in: &session) }
        return last
    }

    /// Observes `events` and learns them; returns the `PTRN|` name.
    @discardableResult
    func learnEvents(_ events: [[String]], in session: inout SessionState) throws -> String {
        try observeEvents(events, in: &session)
        return learn(in: &session).patternName
    }
}
