import Testing

@testable import KatoStore

/// KATO's degradation plan, level by level: what each level switches off, in order.
@Suite struct DegradationLevelTests {
    @Test func eachLevelSwitchesOffWhatThePlanSays() {
        let table: [(DegradationLevel, autoLearn: Bool, emotives: Bool, writes: Bool, calls: Bool)] = [
            (.normal, true, true, true, true),
            (.degraded, false, false, true, true),
            (.essential, false, false, false, true),
            (.maintenance, false, false, false, false),
        ]
        for row in table {
            #expect(row.0.allowsAutoLearn == row.autoLearn, "\(row.0)")
            #expect(row.0.allowsEmotives == row.emotives, "\(row.0)")
            #expect(row.0.allowsWrites == row.writes, "\(row.0)")
            #expect(row.0.servesCalls == row.calls, "\(row.0)")
        }
    }

    @Test func levelsAreOrderedAndNamedAsTheGaugeAndHealthReportThem() {
        #expect([DegradationLevel.maintenance, .normal, .essential, .degraded].sorted() == [.normal, .degraded, .essential, .maintenance])
        #expect(DegradationLevel.allCasesInOrder.map(\.rawValue) == [0, 1, 2, 3])
        #expect(DegradationLevel.allCasesInOrder.map(\.description) == ["NORMAL", "DEGRADED", "ESSENTIAL", "MAINTENANCE"])
    }
}

extension DegradationLevel {
    static let allCasesInOrder: [DegradationLevel] = (0...3).compactMap(DegradationLevel.init(rawValue:))
}
