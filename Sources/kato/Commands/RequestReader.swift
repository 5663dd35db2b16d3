import ArgumentParser
import Foundation
import ProtoJSON
import ProtoWire
import StrictJSON

/// Request messages for `kato call -d`: an inline string, `@file`, or `@-` (stdin). The
/// data is one JSON object, or a stream of them (JSON lines or whitespace-separated
/// objects) for client streaming; in text format, messages are separated by 0x1E.
enum RequestData {
    case none
    case inline(String)
    case stdin

    init(_ argument: String?) throws(CLIFailure) {
        guard let argument else { self = .none; return }
        if argument == "@-" {
            self = .stdin
        } else if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else { throw .usage("cannot read request data from '\(path)'") }
            guard let text = String(data: data, encoding: .utf8) else { throw .usage("'\(path)' is not UTF-8 text") }
            self = .inline(text)
        } else {
            self = .inline(argument)
        }
    }

    /// Every request in `text`, in order.
    static func parseAll(_ text: String, format: MessageFormat) throws -> [JSONValue] {
        switch format {
        case .json:
            var parser = JSONParser(text)
            var values: [JSONValue] = []
            while let v = try parser.nextValue() { values.append(v) }
            return values
        case .text:
            // Text-format messages travel as strings until the text codec reads them.
            return text.split(separator: "\u{1E}", omittingEmptySubsequences: false)
                .filter { !$0.allSatisfy(\.isWhitespace) }
                .map { .string(String($0)) }
        }
    }

    static func readStdin() -> String {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// The wire format of `kato call` requests and responses.
enum MessageFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case text
}

/// Reads JSON values from stdin as they arrive (for client and bidi streaming), on a thread
/// of its own so that a blocking read never holds a task.
enum StdinJSONStream {
    enum Event: Sendable {
        case value(JSONValue)
        case end
        case failed(JSONSyntaxError)
    }

    static func start() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let thread = Thread {
            var buffer: [UInt8] = []
            let input = FileHandle.standardInput
            while true {
                let chunk = input.availableData
                let atEOF = chunk.isEmpty
                buffer.append(contentsOf: chunk)
                var parser = JSONParser(bytes: buffer)
                var consumed = 0
                while true {
                    do throws(JSONSyntaxError) {
                        guard let value = try parser.nextValue() else {
                            consumed = buffer.count
                            break
                        }
                        consumed = parser.index
                        continuation.yield(.value(value))
                    } catch {
                        if error.atEnd && !atEOF { break }
                        continuation.yield(.failed(error))
                        continuation.finish()
                        return
                    }
                }
                buffer.removeFirst(consumed)
                if atEOF {
                    continuation.yield(.end)
                    continuation.finish()
                    return
                }
            }
        }
        thread.start()
        return stream
    }
}
