import ArgumentParser
import GRPCH2
import ProtoJSON
import ProtoWire
import StrictJSON

/// `kato call METHOD -d JSON`: any method of any server with reflection, requests and
/// responses in proto3 JSON (or text format), every call kind (grpcurl's invoke).
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a method through server reflection, with JSON requests and responses.",
        discussion: """
            METHOD is pkg.Service/Method or pkg.Service.Method. -d takes one JSON object, or
            several (JSON lines) for client and bidirectional streaming; @file reads them from a
            file and @- from stdin (streamed as it arrives). Responses print as they arrive.
            Exit code: 0, 64 + the gRPC status code when the call fails, 1 when the server
            cannot be reached or the method is unknown, 2 for invalid input.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The method, pkg.Service/Method or pkg.Service.Method.")
    var method: String

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Request data: JSON, @file or @- for stdin.", valueName: "data"))
    var data: String?

    @Option(help: "Request and response format.")
    var format: MessageFormat = .json

    @Flag(name: .customLong("emit-defaults"), help: "Print fields that hold their default values.")
    var emitDefaults = false

    @Flag(name: .shortAndLong, help: "Print the method, request metadata, response trailers and counts.")
    var verbose = false

    func run() async throws {
        try await CommandRunner.run {
            try await ReflectionSession.with(connection) { session in
                try await invoke(session)
            }
        }
    }

    private func invoke(_ session: ReflectionSession) async throws {
        let source = session.source
        let (serviceName, methodName) = DescriptorPool.splitMethod(method)
        try await session.reflect("Failed to resolve method \"\(method)\"") { try await source.load(symbol: serviceName) }
        guard let service = source.pool.services[serviceName] else {
            throw CLIFailure.failure("Failed to resolve method \"\(method)\": Symbol not found: \(serviceName) is not a service")
        }
        guard let descriptor = service.methods.first(where: { $0.name == methodName }) else {
            throw CLIFailure.failure("Failed to resolve method \"\(method)\": service \"\(serviceName)\" does not include a method named \"\(methodName)\"")
        }
        _ = try await source.withTypes { pool in
            (try pool.message(descriptor.inputType), try pool.message(descriptor.outputType))
        }
        let input = try RequestData(data)
        let streamingStdin: Bool
        if case .stdin = input, descriptor.clientStreaming { streamingStdin = true } else { streamingStdin = false }

        // Read and encode every request before the call starts, so bad input never reaches the server.
        var requests: [[UInt8]] = []
        if !streamingStdin {
            let values: [JSONValue]
            switch input {
            case .none: values = []
            case .inline(let text): values = try RequestData.parseAll(text, format: format)
            case .stdin: values = try RequestData.parseAll(RequestData.readStdin(), format: format)
            }
            if !descriptor.clientStreaming && values.count > 1 {
                throw CLIFailure.usage("method \"\(descriptor.fullName)\" is not client-streaming, but the request data holds \(values.count) messages")
            }
            for value in values { requests.append(try await encode(value, as: descriptor.inputType, source: source)) }
            if !descriptor.clientStreaming && requests.isEmpty { requests = [[]] }
        }

        if verbose {
            Console.out("\nResolved method descriptor:\n" + ProtoPrinter(pool: source.pool).method(descriptor, file: service.file))
            Console.out("\nRequest metadata to send:\n" + Self.lines(session.metadata) + "\n")
        }

        let timeout = session.deadline.map { $0 - ContinuousClock.now }
        if let timeout, timeout <= .zero {
            throw RPCFailure(error: RPCError(code: .deadlineExceeded, message: "context deadline exceeded"))
        }
        let call = try await session.grpc.start(path: descriptor.callPath, metadata: session.metadata, timeout: timeout)
        let (events, continuation) = AsyncStream<CallEvent>.makeStream()
        let reader = Task {
            do {
                for try await message in call.responses(RawMessage.self) { continuation.yield(.response(message.bytes)) }
                continuation.yield(.finished(nil))
            } catch let error as RPCError {
                continuation.yield(.finished(error))
            } catch {
                continuation.yield(.finished(RPCError(code: .unknown, message: String(describing: error))))
            }
        }
        defer { reader.cancel() }
        var sent = 0
        var requestReader: Task<Void, Never>?
        defer { requestReader?.cancel() }
        if streamingStdin {
            requestReader = Task {
                for await event in StdinJSONStream.start() {
                    switch event {
                    case .value(let v): continuation.yield(.request(v))
                    case .end: continuation.yield(.requestsEnd)
                    case .failed(let e): continuation.yield(.requestError(e))
                    }
                }
            }
        } else {
            for r in requests { call.send(r) }
            sent = requests.count
            call.finishRequests()
        }

        if verbose { Console.out("\nResponse contents:\n") }
        var received = 0
        var outcome: RPCError?
        loop: for await event in events {
            switch event {
            case .request(let value):
                do {
                    call.send(try await encode(value, as: descriptor.inputType, source: source))
                    sent += 1
                } catch {
                    call.cancel()
                    throw error
                }
            case .requestsEnd:
                call.finishRequests()
            case .requestError(let error):
                call.cancel()
                throw error
            case .response(let bytes):
                Console.out(try await render(bytes, index: received, as: descriptor.outputType, source: source))
                received += 1
            case .finished(let error):
                outcome = error
                break loop
            }
        }
        if verbose {
            let trailers = outcome?.trailingMetadata ?? call.trailingMetadata
            Console.out("\nResponse trailers received:\n" + (trailers.isEmpty ? "(empty)\n" : Self.lines(trailers)))
            Console.out("Sent \(sent) request\(sent == 1 ? "" : "s") and received \(received) response\(received == 1 ? "" : "s")\n")
        }
        if let outcome {
            throw RPCFailure(error: outcome, details: await Self.details(of: outcome, source: source))
        }
    }

    private func encode(_ value: JSONValue, as type: String, source: DescriptorSource) async throws -> [UInt8] {
        try await source.withTypes { pool in
            switch format {
            case .json: return try JSONToProto(pool: pool).encode(value, as: type)
            case .text:
                guard case .string(let text) = value else { return [] }
                return try TextToProto(pool: pool).encode(text, as: type)
            }
        }
    }

    private func render(_ bytes: [UInt8], index: Int, as type: String, source: DescriptorSource) async throws -> String {
        do {
            return try await source.withTypes { pool in
                switch format {
                case .json: return JSONPrinter().print(try ProtoToJSON(pool: pool, emitDefaults: emitDefaults).decode(bytes, as: type)) + "\n"
                case .text: return (index > 0 ? "\u{1E}" : "") + (try ProtoToText(pool: pool).decode(bytes, as: type))
                }
            }
        } catch let error as CodecError {
            throw CLIFailure.failure("Failed to decode a response as \(type): \(error.message)")
        } catch let error as WireFormatError {
            throw CLIFailure.failure("Failed to decode a response as \(type): \(error)")
        }
    }

    static func lines(_ metadata: Metadata) -> String {
        metadata.map { entry in
            switch entry.value {
            case .string(let s): "\(entry.key): \(s)\n"
            case .binary(let b): "\(entry.key): \(ScalarFormats.base64(b))\n"
            }
        }.joined()
    }

    /// The `google.rpc.Status` details of an error as compact JSON, one per detail.
    static func details(of error: RPCError, source: DescriptorSource) async -> [String] {
        guard let status = error.statusDetails else { return [] }
        var anys: [[UInt8]] = []
        var reader = WireReader(status)
        while let (field, value) = try? reader.next() {
            if field == 3, case .bytes(let b) = value { anys.append(Array(b)) }
        }
        var out: [String] = []
        for any in anys {
            let json = try? await source.withTypes { pool in try ProtoToJSON(pool: pool).decode(any, as: WellKnownType.any.rawValue) }
            if let json {
                out.append(JSONPrinter(compact: true).print(json))
            } else {
                var url = "", value: [UInt8] = []
                var r = WireReader(any)
                while let (f, v) = try? r.next() {
                    if f == 1, case .bytes(let b) = v { url = String(decoding: b, as: UTF8.self) }
                    if f == 2, case .bytes(let b) = v { value = Array(b) }
                }
                out.append(JSONPrinter(compact: true).print(.object([("@type", .string(url)), ("value", .string(ScalarFormats.base64(value)))])))
            }
        }
        return out
    }
}

/// What the call loop waits for: a request from stdin, a response, or the end.
enum CallEvent: Sendable {
    case request(JSONValue)
    case requestsEnd
    case requestError(JSONSyntaxError)
    case response([UInt8])
    case finished(RPCError?)
}
