import ArgumentParser
import KatoClient
import KatoProto

/// `kato kb list|stats|delete|delete-all`: browsing a node's knowledge base (`kato.v2.KnowledgeBaseService`).
struct KnowledgeBaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kb",
        abstract: "Browse a node's knowledge base: its patterns and statistics; delete a pattern or all of them.",
        subcommands: [List.self, Stats.self, Delete.self, DeleteAll.self]
    )

    enum Order: String, ExpressibleByArgument, CaseIterable {
        case frequency, name, length, learned

        var proto: Kato_V2_PatternOrder {
            switch self {
            case .frequency: .frequencyDesc
            case .name: .name
            case .length: .lengthDesc
            case .learned: .learned
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List patterns, one per line: name, frequency, length, events (a b | c).",
            discussion: "Pages of --page-size are fetched until --limit patterns are printed (0: all of them). "
                + "The last line names the token of the next page when there is one (--page-token resumes there)."
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The node whose knowledge base to list.", valueName: "node"))
        var node: String

        @Option(help: "Sort order: frequency (highest first), name, length (longest first) or learned (oldest first).")
        var order: Order = .frequency

        @Option(help: ArgumentHelp("Only patterns containing this symbol.", valueName: "symbol"))
        var symbol: String = ""

        @Option(help: ArgumentHelp("Only patterns whose name starts with this (PTRN| optional).", valueName: "prefix"))
        var prefix: String = ""

        @Option(name: .customLong("page-size"), help: "Patterns per call (1–1000).")
        var pageSize: Int32 = 50

        @Option(name: .customLong("page-token"), help: "Start at this page (from a previous listing).")
        var pageToken: String = ""

        @Option(help: "Print at most this many patterns (0: all).")
        var limit: Int = 50

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    var token = pageToken
                    var printed = 0
                    repeat {
                        let page = try await client.listPatterns(nodeID: node, order: order.proto, symbol: symbol, namePrefix: prefix,
                                                                 pageSize: limit > 0 ? min(pageSize, Int32(clamping: limit - printed)) : pageSize,
                                                                 pageToken: token)
                        for pattern in page.patterns {
                            let events = pattern.patternData.map { $0.symbols.joined(separator: " ") }.joined(separator: " | ")
                            Console.out("\(pattern.name)\t\(pattern.frequency)\t\(pattern.length)\t\(events)\n")
                        }
                        printed += page.patterns.count
                        token = page.nextPageToken
                    } while !token.isEmpty && (limit == 0 || printed < limit)
                    if !token.isEmpty { Console.out("next page: --page-token \(token)\n") }
                }
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A node's knowledge-base statistics.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The node.", valueName: "node"))
        var node: String

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    let s = try await client.knowledgeBaseStatistics(nodeID: node)
                    var out = "node:            \(s.nodeID)\npatterns:        \(s.patternCount)\n"
                    out += "symbols:         \(s.symbolCount)\ntotal frequency: \(s.totalFrequency)\n"
                    out += "lengths:         " + s.lengthDistribution.map { "\($0.length):\($0.patterns)" }.joined(separator: " ") + "\n"
                    out += "top symbols:     " + s.topSymbols.map { "\($0.symbol)(\($0.frequency))" }.joined(separator: " ") + "\n"
                    Console.out(out)
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete one pattern (admin role): the node then predicts as if it had never learned it.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The node.", valueName: "node"))
        var node: String

        @Option(help: ArgumentHelp("The pattern's name (PTRN| optional).", valueName: "name"))
        var name: String

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    let r = try await client.deletePattern(nodeID: node, name: name)
                    Console.out("deleted \(r.name) (\(r.patternCount) patterns left)\n")
                }
            }
        }
    }

    struct DeleteAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-all",
            abstract: "Delete a node's whole knowledge base (admin role): patterns, symbol statistics, totals.",
            discussion: "The node's sessions keep their short-term memory. Asks for --yes, since nothing can undo it.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The node.", valueName: "node"))
        var node: String

        @Flag(help: "Confirm: the knowledge base is gone for good.")
        var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("deleting the whole knowledge base of '\(node)' needs --yes") }
        }

        func run() async throws {
            try await CommandRunner.run {
                try await connection.withKatoClient { client in
                    let r = try await client.deleteKnowledgeBase(nodeID: node)
                    Console.out("deleted the knowledge base of \(r.nodeID): \(r.patternsDeleted) patterns, \(r.symbolsDeleted) symbols\n")
                }
            }
        }
    }
}
