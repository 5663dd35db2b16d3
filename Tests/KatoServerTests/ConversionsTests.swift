import KatoEngine
import KatoSupport
import ProtobufCBridge
import XCTest

@testable import KatoServer

final class ConversionsTests: XCTestCase {
    func testIntegralJSONNumbersBecomeIntsSoMetadataStringifiesLikeKATO() throws {
        var five = Google_Protobuf_Value()
        five.kind = .numberValue(5)
        XCTAssertEqual(try Convert.metadataValue(five, field: "m").pythonString, "5")
        var half = Google_Protobuf_Value()
        half.kind = .numberValue(1.5)
        XCTAssertEqual(try Convert.metadataValue(half, field: "m").pythonString, "1.5")
        var yes = Google_Protobuf_Value()
        yes.kind = .boolValue(true)
        XCTAssertEqual(try Convert.metadataValue(yes, field: "m").pythonString, "True")
    }

    func testNonFiniteMetadataNumbersAreValidationErrors() {
        var nan = Google_Protobuf_Value()
        nan.kind = .numberValue(.nan)
        XCTAssertThrowsError(try Convert.metadataValue(nan, field: "metadata.x")) { error in
            XCTAssertEqual(error as? KatoError, .invalid("metadata.x", "must be a finite number"))
        }
    }

    func testTraceIDIsTakenFromAValidTraceparentOnly() {
        XCTAssertEqual(TraceInterceptor.traceID(fromTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                       "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertNil(TraceInterceptor.traceID(fromTraceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"))
        XCTAssertNil(TraceInterceptor.traceID(fromTraceparent: "garbage"))
        XCTAssertEqual(TraceInterceptor.newTraceID().count, 32)
    }

    func testHexDigitsAreLowerCaseMostSignificantFirst() {
        XCTAssertEqual(UniqueIDs.hex(0x0123_4567_89AB_CDEF), "0123456789abcdef")
        XCTAssertEqual(UniqueIDs.hex(0), "0000000000000000")
        XCTAssertEqual(UniqueIDs.hex(.max), "ffffffffffffffff")
        XCTAssertEqual(UniqueIDs.hex(0xA0B0_C0D0_E0F0_0919), "a0b0c0d0e0f00919")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let v: UInt64 = rng.next()
            let expected = String(v, radix: 16)
            XCTAssertEqual(UniqueIDs.hex(v), String(repeating: "0", count: 16 - expected.count) + expected)
        }
        let id = UniqueIDs.hex128(prefix: "obs-")
        XCTAssertTrue(id.hasPrefix("obs-"))
        XCTAssertEqual(id.count, 36)
        XCTAssertTrue(id.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        XCTAssertNotEqual(UniqueIDs.hex128(), UniqueIDs.hex128())
    }

    func testSessionIDsHaveKATOsShape() {
        let id = SessionRegistry.newSessionID()
        let parts = id.split(separator: "-")
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(parts[0], "session")
        XCTAssertEqual(parts[1].count, 32)
        XCTAssertNotNil(Int64(parts[2]))
    }
}
