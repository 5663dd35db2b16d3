import Logging
import PostgresNIO
import Synchronization

/// A test of the window ``PostgresConnection/checkedQuery(_:logger:file:line:)`` closes
/// (`kato-server test-postgres-query-race`, run by `Tests/python/test_postgres_query_race.py`):
/// queries keep being sent on a connection from several tasks while another task closes it at a
/// random moment; every query must then end, answered or failed, never hang. `checked: false`
/// sends them with the check made off the event loop (the old form), to show the window is real.
public enum PostgresQueryRace {
    public struct Result: Sendable {
        public var rounds = 0
        public var queries = 0
        public var failed = 0
        /// Senders still waiting for a query's answer 3 s after their connection closed.
        public var hung = 0
    }

    private final class Counts: Sendable {
        let answered = Atomic<Int>(0), failed = Atomic<Int>(0), done = Atomic<Int>(0)
    }

    public static func run(_ settings: PostgresSettings, rounds: Int, senders: Int, checked: Bool, logger: Logger) async throws -> Result {
        var result = Result()
        for round in 0..<rounds {
            let conn = try await PostgresAdmin.connect(settings, logger: logger)
            let counts = Counts()
            for _ in 0..<senders {
                // Unstructured on purpose: a hung sender must not hold the test up (it leaks).
                Task {
                    while true {
                        do {
                            let rows: PostgresRowSequence
                            if checked {
                                rows = try await conn.checkedQuery("SELECT 1", logger: logger)
                            } else {
                                rows = try await conn.racyQuery("SELECT 1", logger: logger)
                            }
                            for try await _ in rows.decode(Int32.self) {}
                            counts.answered.add(1, ordering: .relaxed)
                        } catch {
                            counts.failed.add(1, ordering: .relaxed)
                            break
                        }
                    }
                    counts.done.add(1, ordering: .relaxed)
                }
            }
            // Close while the senders are busy: 0.5–3 ms in, at a different moment each round.
            try await Task.sleep(for: .microseconds(500 + (round * 977) % 2500))
            try? await conn.close()
            let deadline = ContinuousClock.now + .seconds(3)
            while counts.done.load(ordering: .relaxed) < senders, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            result.rounds += 1
            result.queries += counts.answered.load(ordering: .relaxed)
            result.failed += counts.failed.load(ordering: .relaxed)
            result.hung += senders - counts.done.load(ordering: .relaxed)
        }
        return result
    }
}
