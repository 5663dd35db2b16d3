import Foundation
import KatoEngine
import KatoProto
import ProtobufCBridge

/// The hand-over's session path in isolation (no sockets, no other process): snapshot, encode,
/// decode and install of N sessions like `benchmarks/handover`'s (10 nodes, 3 observed events
/// each), timed per phase and reported per session, so 10,000 and 100,000 can be compared (a
/// per-session cost that grows with N is a superlinear step). A measurement, run by
/// `kato-server bench-handover-sessions` (`make bench-handover`), not a test.
public enum SessionHandOverBenchmark {
    /// One line: µs per session for each phase. Throws if a session is lost on the way.
    public static func perSession(sessions n: Int) throws -> String {
        let registry = SessionRegistry(configuration: { var c = SessionRegistry.Configuration(); c.maxSessions = n; return c }())
        for i in 0..<n {
            let session = try registry.create(nodeID: "node-\(i % 10)", ttlSeconds: 0, config: ConfigUpdate(), metadata: Google_Protobuf_Struct())
            for event in ["a\(i % 7)", "b\(i % 5)", "c"] {
                _ = try session.mutate { engine, state in
                    try engine.observe(Observation(strings: [event]), in: &state)
                    return ((), .observe)
                }
            }
        }
        var t = ContinuousClock.now
        func lap() -> Double {
            let now = ContinuousClock.now
            defer { t = now }
            return Double((now - t).components.attoseconds) / 1e12 + Double((now - t).components.seconds) * 1e6
        }
        let live = registry.live(at: .now)
        let snapshotted = live.map { $0.snapshot() }
        let snapshotUs = lap()
        var chunks: [[UInt8]] = []
        var i = 0
        while i < snapshotted.count {
            let end = min(i + SessionHandOver.chunkSize, snapshotted.count)
            chunks.append(try SessionHandOver.encode(snapshotted[i..<end], format: SessionHandOver.binary))
            i = end
        }
        let encodeUs = lap()
        let decoded = SessionHandOver(sessions: try chunks.flatMap { try SessionHandOver.decode($0, format: SessionHandOver.binary) })
        let decodeUs = lap()
        let successor = SessionRegistry(configuration: registry.configuration)
        try successor.install(decoded)
        let installUs = lap()
        let arrived = successor.count(nodeID: nil)
        guard arrived == n else {
            throw KatoError.failedPrecondition(reason: "SESSIONS_LOST", message: "hand-over lost sessions: \(arrived) of \(n) arrived")
        }
        let per = { (us: Double) in String(format: "%.2f", us / Double(n)) }
        return "handover-scaling sessions=\(n) µs/session (snapshot, encode, decode on one thread; install on all): snapshot \(per(snapshotUs)) encode \(per(encodeUs)) decode \(per(decodeUs)) install \(per(installUs)); install total \(Int(installUs / 1000)) ms"
    }
}
