import XCTest

@testable import GRPCH2

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

    func testHeaderTokensNameExactlyTheReservedHeaders() {
        let read: [String: HeaderToken] = [
            ":path": .path, ":method": .method, "content-type": .contentType, "grpc-encoding": .grpcEncoding,
            "grpc-accept-encoding": .grpcAcceptEncoding, "grpc-timeout": .grpcTimeout,
        ]
        for (name, token) in read { XCTAssertEqual(headerToken(name), token, name) }
        for name in [":scheme", ":authority", ":status", "te", "user-agent", "grpc-status", "grpc-message",
                     "grpc-status-details-bin", "content-length", "host", "connection"] {
            XCTAssertEqual(headerToken(name), .reserved, name)
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
        // Custom `grpc-*` names are reserved too (gRPC PROTOCOL-HTTP2.md), recognised from bytes.
        for name in ["grpc-statuses", "grpc-custom", "grpc-x", "grpc-", "grpc-trace-bi", "grpc-previous-rpc-attempt",
                     "grpc-internal-encoding-request"] {
            XCTAssertEqual(headerToken(name), .reserved, name)
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
        // ... except those gRPC defines for applications, and lookalikes without the prefix.
        for name in ["x-user", "authorization", "tee", "hosts", "content-typo", "trace-bin", "grpc",
                     "grpc-trace-bin", "grpc-tags-bin", "grpc-message-type", "grpc-previous-rpc-attempts",
                     "grpc-retry-pushback-ms", "xgrpc-status", ""] {
            XCTAssertEqual(headerToken(name), .other, name)
            XCTAssertEqual(Metadata.isReserved(name), false, name)
        }
        // Connection-specific headers must never be sent (RFC 9113 §8.2.2).
        for name in ["keep-alive", "proxy-connection", "transfer-encoding", "upgrade"] {
            XCTAssertTrue(Metadata.isReserved(name), name)
        }
    }

    func testStreamTableAgreesWithADictionary() {
        final class Box { let id: Int32; init(_ id: Int32) { self.id = id } }
        var table = StreamTable<Box>(capacity: 4)
        var reference: [Int32: Box] = [:]
        var rng = SystemRandomNumberGenerator()
        var next: Int32 = 1
        for step in 0..<20_000 {
            // Mostly new odd ids (as clients open streams), closes in random order, a few bogus ids.
            let r = Int.random(in: 0..<10, using: &rng)
            if r < 4 || reference.isEmpty {
                let box = Box(next)
                table.set(box, for: next)
                reference[next] = box
                next += 2
            } else if r < 8, let victim = reference.keys.randomElement(using: &rng) {
                XCTAssertTrue(table.removeValue(for: victim) === reference.removeValue(forKey: victim))
            } else {
                let id = Int32.random(in: -3...(next + 4), using: &rng)
                XCTAssertTrue(table[id] === reference[id], "step \(step) id \(id)")
                XCTAssertTrue(table.removeValue(for: next + 2) == nil)
            }
            XCTAssertEqual(table.count, reference.count)
        }
        for (id, box) in reference { XCTAssertTrue(table[id] === box) }
        XCTAssertEqual(Set(table.removeAll().map(\.id)), Set(reference.keys))
        XCTAssertTrue(table.isEmpty)
    }

    func testDeframerRejectsOversizeMessagesAtThePrefix() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append([0, 0, 0, 0, 11])
        XCTAssertThrowsError(try deframer.next()) { error in
            XCTAssertEqual(error as? MessageDeframer.Failure, .messageTooLarge(length: 11, limit: 10))
        }
    }

    func testGzipRoundTripsAndRefusesToInflatePastTheLimit() throws {
        let text = Array(repeating: Array("kato gzip ".utf8), count: 1000).flatMap { $0 }
        let compressed = Gzip.compress(text)
        XCTAssertLessThan(compressed.count, text.count / 10)
        XCTAssertEqual(try Gzip.decompress(compressed, limit: text.count), text)
        XCTAssertThrowsError(try Gzip.decompress(compressed, limit: 100))
        XCTAssertThrowsError(try Gzip.decompress([1, 2, 3, 4], limit: 100))
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
