import ArgumentParser
import KatoClient
import KatoProto
import ProtoJSON

/// `kato session create|get|delete|count`.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Create, inspect and delete sessions.",
        subcommands: [Create.self, Get.self, Delete.self, Count.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a session on a node; prints its id (S=$(kato session create --node n1))."
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The node whose knowledge base the session uses.", valueName: "node"))
        var node: String

        @Option(help: ArgumentHelp("Sliding time-to-live in seconds (0 = the server default).", valueName: "seconds"))
        var ttl: Int64 = 0

        @Option(name: .customLong("max-pattern-length"), help: "Auto-learn when the STM holds this many events.")
        var maxPatternLength: Int64?

        @Option(name: .customLong("recall-threshold"), help: "Minimum similarity of a prediction.")
        var recallThreshold: Double?

        @Option(name: .customLong("max-predictions"), help: "Predictions kept after ranking.")
        var maxPredictions: Int64?

        @Flag(help: "Print the whole session, not just its id.")
        var verbose = false

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    var config = Kato_V2_SessionConfig()
                    var hasConfig = false
                    if let maxPatternLength {
                        config.maxPatternLength = maxPatternLength
                        hasConfig = true
                    }
                    if let recallThreshold {
                        config.recallThreshold = recallThreshold
                        hasConfig = true
                    }
                    if let maxPredictions {
                        config.maxPredictions = maxPredictions
                        hasConfig = true
                    }
                    let session = try await client.createSessionInfo(nodeID: node, ttlSeconds: ttl, config: hasConfig ? config : nil)
                    Console.out(verbose ? SessionCommand.describe(session) : session.sessionID + "\n")
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session (and refresh its expiry).")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The session id.", valueName: "id"))
        var session: String

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    Console.out(SessionCommand.describe(try await client.getSession(id: session)))
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a session.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The session id.", valueName: "id"))
        var session: String

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    try await client.session(id: session).delete()
                    Console.out("deleted \(session)\n")
                }
            }
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count live sessions, in total or on one node.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("Count only this node's sessions.", valueName: "node"))
        var node: String = ""

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    Console.out("\(try await client.countSessions(nodeID: node))\n")
                }
            }
        }
    }

    static func describe(_ s: Kato_V2_Session) -> String {
        let c = s.config
        var out = "session:     \(s.sessionID)\nnode:        \(s.nodeID)\n"
        out += "ttl:         \(s.ttlSeconds)s\n"
        if let created = s.createdAt, let text = try? TimeFormats.formatTimestamp(seconds: created.seconds, nanos: created.nanos) {
            out += "created:     \(text)\n"
        }
        if let expires = s.expiresAt, let text = try? TimeFormats.formatTimestamp(seconds: expires.seconds, nanos: expires.nanos) {
            out += "expires:     \(text)\n"
        }
        out += "stm length:  \(s.stmLength)\ntime:        \(s.time)\n"
        if let c {
            out += "config:      max_pattern_length=\(c.maxPatternLength.map(String.init) ?? "-") persistence=\(c.persistence.map(String.init) ?? "-")"
            out += " recall_threshold=\(c.recallThreshold.map { "\($0)" } ?? "-") max_predictions=\(c.maxPredictions.map(String.init) ?? "-")"
            out += " stm_mode=\(c.stmMode)\n"
        }
        return out
    }
}
