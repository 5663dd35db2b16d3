// An example of the KatoClient library (the Swift client for kato.v2 on GRPCH2's client side).
//
// Build and run (the package's `kato-client-example` executable target):
//
//     swift run kato-client-example 127.0.0.1:50051
//
// It creates a session, observes a short sequence, learns it, follows the predictions live
// while a second task observes, and shows how failures arrive as typed errors.
//
//     swift run kato-client-example 127.0.0.1:50051 follow SESSION_ID COUNT
//
// follows an existing session instead: one line per update (`update SEQUENCE CAUSE`) until
// COUNT updates, resuming by itself when its server goes away (Tests/python/test_cluster_swift_client.py
// kills the replica under it).
import Foundation
import GRPCH2
import KatoClient
import KatoProto

@main
struct KatoClientExample {
    static func main() async throws {
        let address = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:50051"
        let parts = address.split(separator: ":")
        let host = String(parts[0]), port = Int(parts[1]) ?? 50051

        // One HTTP/2 connection, shared by every call (plaintext h2c here; pass
        // `tls: .init(caPath: "ca.pem")` for TLS, `apiKey:` when the server requires one).
        let client = try await KatoClient.connect(host: host, port: port, defaultTimeout: .seconds(10))

        let arguments = CommandLine.arguments
        if arguments.count == 5, arguments[2] == "follow", let count = Int(arguments[4]) {
            try await follow(client.session(id: arguments[3]), count: count)
            await client.close()
            return
        }

        print("server health:", try await client.health())

        // A session owns an STM; sessions of one node share its knowledge base.
        let session = try await client.createSession(nodeID: "swift-example")
        print("session", session.sessionID)

        // Observe events, then learn them as a pattern.
        try await session.observe(["hello", "world"], emotives: ["joy": 0.8])
        try await session.observe(["again"])
        let pattern = try await session.learn()
        print("learned", pattern)

        // Subscriptions are AsyncSequences: one PredictionUpdate per change of the STM,
        // whoever makes it. Here a second task observes while this one listens.
        let updates = try await session.subscribe(sendInitial: true)
        let observer = Task {
            try await Task.sleep(for: .milliseconds(200))
            try await session.observe(["hello"])
            try await session.observe(["world"])
        }
        var seen = 0
        for try await update in updates {
            let names = update.predictions.prefix(3).map { "\($0.name.prefix(8))… potential \($0.potential)" }
            print("update #\(update.sequence) (\(update.cause)): STM \(update.stm.map(\.symbols)) → \(names)")
            seen += 1
            if seen == 3 { break }
        }
        try await observer.value

        // Plain calls return typed responses.
        let predictions = try await session.predictions()
        if let best = predictions.predictions.first {
            print("best prediction: \(best.name), future \(best.future.map(\.symbols)), confidence \(best.confidence)")
        }
        print("STM:", try await session.stm())

        // Failures are typed: the gRPC status plus the ErrorInfo reason and trace id.
        do {
            _ = try await client.session(id: "session-does-not-exist").stm()
        } catch let error as KatoClientError {
            print("expected failure: \(error.code) reason=\(error.reason) trace=\(error.traceID)")
        }

        try await session.delete()
        await client.close()
    }

    /// Prints COUNT updates of a session as they come; the stream resumes after the last
    /// sequence it yielded when its replica dies or drains (the lines show no gap then).
    static func follow(_ session: KatoSession, count: Int) async throws {
        let updates = try await session.subscribe(sendInitial: false)
        // Unbuffered: the lines are read as they come.
        let out = FileHandle.standardOutput
        out.write(Data("subscribed\n".utf8))
        var seen = 0
        for try await update in updates {
            out.write(Data("update \(update.sequence) \(update.cause)\n".utf8))
            seen += 1
            if seen == count { break }
        }
    }
}
