import Foundation
import ProtoJSON
import StrictJSON
import XCTest

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// kato.v2 and its imports as protoc wrote them (Fixtures/kato.pb), plus the compiled-in
/// well-known types: the pool a server would build once.
let katoPool: DescriptorPool = {
    var pool = DescriptorPool()
    let set = [UInt8](try! Data(contentsOf: fixtures.appendingPathComponent("kato.pb")))
    try! pool.add(fileDescriptorSet: set)
    pool.addWellKnownTypes()
    return pool
}()

/// One fixture written by Google's protobuf runtime (Fixtures/make-fixtures.py): the message
/// type, its binary encoding and json_format's JSON for it.
struct ProtobufFixture {
    let name: String
    let type: String
    let binary: [UInt8]
    let json: JSONValue

    init(_ name: String) throws {
        self.name = name
        binary = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name + ".bin")))
        let text = try String(contentsOf: fixtures.appendingPathComponent(name + ".json"), encoding: .utf8)
        let newline = text.firstIndex(of: "\n")!
        type = String(text[..<newline])
        json = try JSONParser.parse(String(text[text.index(after: newline)...]))
    }

    static let all = ["observe_request", "get_predictions_response", "create_session_request", "session", "empty_observe_request"]
}

/// JSON equality as proto3 JSON means it: object members in any order, numbers by value
/// (Python prints 42.0 and 1e-07 where Go-style printers write 42 and 1e-7).
func jsonEquivalent(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.number(let x), .number(let y)):
        return x == y || (Double(x) != nil && Double(x) == Double(y))
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy(jsonEquivalent)
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        let yd = Dictionary(y, uniquingKeysWith: { first, _ in first })
        return x.allSatisfy { k, v in yd[k].map { jsonEquivalent(v, $0) } ?? false }
    default:
        return a == b
    }
}

func assertJSONEquivalent(_ a: JSONValue, _ b: JSONValue, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(jsonEquivalent(a, b), "\(message)\n\(JSONPrinter(compact: true).print(a))\n!=\n\(JSONPrinter(compact: true).print(b))", file: file, line: line)
}
