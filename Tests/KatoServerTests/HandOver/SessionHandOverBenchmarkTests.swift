import Testing
@testable import KatoServer

/// The hand-over benchmark's session path (`kato-server bench-handover-sessions`) at a small size:
/// it runs, every session arrives, and it reports each phase.
@Suite struct SessionHandOverBenchmarkTests {
    @Test func aSmallRunReportsEveryPhasePerSession() throws {
        let line = try SessionHandOverBenchmark.perSession(sessions: 50)
        #expect(line.hasPrefix("handover-scaling sessions=50 "))
        for phase in ["snapshot", "encode", "decode", "install"] { #expect(line.contains(" \(phase) ")) }
    }
}
