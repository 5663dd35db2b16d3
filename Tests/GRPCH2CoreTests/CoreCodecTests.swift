import XCTest

@testable import GRPCH2Core

final class CoreCodecTests: XCTestCase {
    func testGRPCTimeoutParsesEveryUnit() {
        XCTAssertEqual(GRPCTimeout.parse("2H"), .seconds(7200))
        XCTAssertEqual(GRPCTimeout.parse("3M"), .seconds(180))
        XCTAssertEqual(GRPCTimeout.parse("5S"), .seconds(5))
        XCTAssertEqual(GRPCTimeout.parse("250m"), .milliseconds(250))
        XCTAssertEqual(GRPCTimeout.parse("7u"), .microseconds(7))
        XCTAssertEqual(GRPCTimeout.parse("99999999n"), .nanoseconds(99_999_999))
    }

    func testMetadataKeysAreCaseInsensitiveBeyondASCII() {
        var m = Metadata()
        m.addString("1", forKey: "X-Ä")
        m.addString("2", forKey: "x-plain")
        m.addString("3", forKey: "\u{212A}eep-alive")  // KELVIN SIGN lower-cases to "k"
        XCTAssertEqual(m.firstString(forKey: "x-ä"), "1")
        XCTAssertEqual(m.firstString(forKey: "X-Ä"), "1")
        XCTAssertEqual(m.firstString(forKey: "X-PLAIN"), "2")
        XCTAssertEqual(m.firstString(forKey: "keep-alive"), "3")
        XCTAssertEqual(Array(m).map(\.key), ["x-ä", "x-plain", "keep-alive"])
        XCTAssertTrue(Metadata.isReserved(Array(m)[2].key))
    }

    func testGRPCTimeoutRejectsMalformedValues() {
        for bad in ["", "S", "10", "1x", "123456789S", "-1S", "1.5S", " 1S"] {
            XCTAssertNil(GRPCTimeout.parse(bad), bad)
        }
    }

    func testGRPCTimeoutFormatNeverShortensAndFitsEightDigits() {
        XCTAssertEqual(GRPCTimeout.format(.milliseconds(1500)), "1500000u")
        XCTAssertEqual(GRPCTimeout.format(.nanoseconds(5)), "5n")
        XCTAssertEqual(GRPCTimeout.format(.seconds(86400 * 365)), "31536000S")
        XCTAssertEqual(GRPCTimeout.format(.seconds(86400 * 3650)), "5256000M")
        let formatted = GRPCTimeout.format(.nanoseconds(123_456_789_123))
        XCTAssertGreaterThanOrEqual(GRPCTimeout.parse(formatted)!, .nanoseconds(123_456_789_123))
    }

    func testGRPCMessagePercentEncodingRoundTripsUnicodeAndPercent() {
        let text = "not found: ü 100% \n"
        let encoded = PercentEncoding.encode(text)
        XCTAssertEqual(encoded, "not found: %C3%BC 100%25 %0A")
        XCTAssertEqual(PercentEncoding.decode(encoded), text)
        XCTAssertEqual(PercentEncoding.decode("bad %zz escape"), "bad %zz escape")
    }

    func testBinaryMetadataBase64AcceptsPaddedAndUnpadded() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37) }
            let encoded = Base64.encode(bytes)
            XCTAssertFalse(encoded.hasSuffix("="))
            XCTAssertEqual(Base64.decode(encoded), bytes)
            let padded = encoded + String(repeating: "=", count: (4 - encoded.count % 4) % 4)
            XCTAssertEqual(Base64.decode(padded), bytes)
        }
        XCTAssertNil(Base64.decode("a$b="))
    }

    func testDeframerReassemblesMessagesSplitAtEveryByte() throws {
        var wire = [UInt8]()
        MessageFramer.frame([1, 2, 3], compressed: false, into: &wire)
        MessageFramer.frame([], compressed: false, into: &wire)
        MessageFramer.frame(Array(repeating: 9, count: 300), compressed: true, into: &wire)
        var deframer = MessageDeframer(maxMessageSize: 1000)
        var got: [MessageDeframer.Message] = []
        for b in wire {
            deframer.append([b])
            while let m = try deframer.next() { got.append(m) }
        }
        XCTAssertEqual(got.map(\.bytes), [[1, 2, 3], [], Array(repeating: 9, count: 300)])
        XCTAssertEqual(got.map(\.compressed), [false, false, true])
        XCTAssertEqual(deframer.bufferedByteCount, 0)
    }

    func testDeframerHandsOverWholeChunksAndLeavesTheSendersArrayIntact() throws {
        var one = [UInt8](), two = [UInt8]()
        MessageFramer.frame([7, 8, 9], compressed: false, into: &one)
        MessageFramer.frame([1], compressed: false, into: &two)
        MessageFramer.frame([2, 3], compressed: true, into: &two)
        let kept = one
        var deframer = MessageDeframer(maxMessageSize: 100)
        deframer.append(one)
        XCTAssertEqual(try deframer.next(), .init(compressed: false, bytes: [7, 8, 9]))
        XCTAssertNil(try deframer.next())
        XCTAssertEqual(kept, [0, 0, 0, 0, 3, 7, 8, 9])  // the in-place prefix drop did not write through
        deframer.append(two)
        XCTAssertEqual(try deframer.next(), .init(compressed: false, bytes: [1]))
        XCTAssertEqual(try deframer.next(), .init(compressed: true, bytes: [2, 3]))
        XCTAssertNil(try deframer.next())
        XCTAssertEqual(deframer.bufferedByteCount, 0)
    }

    func testDeframerRejectsOversizeMessagesAtThePrefix() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append([0, 0, 0, 0, 11])
        XCTAssertThrowsError(try deframer.next()) { error in
            XCTAssertEqual(error as? MessageDeframer.Failure, .messageTooLarge(length: 11, limit: 10))
        }
    }

    func testDescriptorIndexFindsFilesSymbolsAndServices() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let bytes = try [UInt8](Data(contentsOf: root.appendingPathComponent("proto/descriptors.pb")))
        let index = try DescriptorIndex(descriptorSet: bytes)
        XCTAssertTrue(index.services.contains("kato.v2.ObserveService"))
        XCTAssertEqual(index.symbols["kato.v2.Prediction"], "kato/v2/types.proto")
        XCTAssertEqual(index.symbols["kato.v2.ObserveService.Observe"], "kato/v2/observe.proto")
        XCTAssertEqual(index.symbols["google.rpc.BadRequest.FieldViolation"], "google/rpc/error_details.proto")
        let chain = index.fileWithDependencies("kato/v2/observe.proto").map(\.name)
        XCTAssertEqual(chain.last, "kato/v2/observe.proto")
        XCTAssertTrue(chain.contains("google/protobuf/struct.proto"))
        XCTAssertThrowsError(try DescriptorIndex(descriptorSet: [0x0A, 0x05, 0x01]))
    }
}
