// Needs `KatoProto` among the dependencies of ProtobufCBridgeTests in Package.swift; until then
// these tests are compiled out (the C module of KatoProto is visible only to declared dependents).
#if canImport(KatoProto) && canImport(CKatoProtos)
import KatoProto
import ProtobufCBridge
import XCTest

/// The kato.v2 messages: wrapper fields, packed doubles, maps, repeated messages, enums.
final class KatoMessageRoundTripTests: XCTestCase {
    func testBoolsRoundTrip() throws {
        var response = Kato_V2_ObserveResponse()
        response.autoLearnSkipped = true
        XCTAssertEqual(try assertRoundTrip(response).autoLearnSkipped, true)
        var wrapper = Google_Protobuf_BoolValue()
        wrapper.value = true
        try assertRoundTrip(wrapper)
    }

    func testRepeatedStringsMessagesAndPackedDoublesRoundTrip() throws {
        var observation = Kato_V2_Observation()
        observation.strings = ["a", "", "ü", String(repeating: "long", count: 500)]
        var v1 = Kato_V2_Vector()
        v1.values = [0, -1.5, .pi, 1e300]
        let v2 = Kato_V2_Vector()
        observation.vectors = [v1, v2, v1]
        try assertRoundTrip(observation)

        XCTAssertEqual(v1.serializedBytes().prefix(2), [0x0a, 32], "repeated doubles are packed: one tag, 4 x 8 bytes")
    }

    func testMapsRoundTrip() throws {
        var request = Kato_V2_ObserveRequest()
        request.sessionID = "session-1"
        request.emotives = ["joy": 0.5, "fear": -1, "zero": 0, "": 2]
        request.metadata = [
            "n": .number(42), "s": .string("text"), "b": .bool(false), "null": .null,
            "list": .list([.number(1), .string("two"), .list([])]),
            "obj": .object(["nested": .object(["deep": .bool(true)])]),
            "empty": Google_Protobuf_Value(),
        ]
        try assertRoundTrip(request)

        var info = Google_Rpc_ErrorInfo()
        info.reason = "SESSION_NOT_FOUND"
        info.domain = "kato.v2"
        info.metadata = ["trace_id": "abc", "session_id": "s-1", "": ""]
        try assertRoundTrip(info)

        var pattern = Kato_V2_Pattern()
        var list = Kato_V2_StringList()
        list.values = ["x", "y"]
        pattern.metadata = ["k": list, "empty": Kato_V2_StringList()]
        try assertRoundTrip(pattern)
    }

    func testNestedMessagesRoundTrip() throws {
        var session = Kato_V2_Session()
        session.sessionID = "session-abc-1"
        session.createdAt = Google_Protobuf_Timestamp()
        var expires = Google_Protobuf_Timestamp()
        expires.seconds = 1_700_000_000
        expires.nanos = 5
        session.expiresAt = expires
        var config = Kato_V2_SessionConfig()
        config.maxPatternLength = 0
        config.stmMode = .rolling
        session.config = config
        session.metadata = Google_Protobuf_Struct()
        let decoded = try assertRoundTrip(session)
        XCTAssertEqual(decoded.createdAt, Google_Protobuf_Timestamp(), "a present but empty sub-message stays present")
        XCTAssertNotNil(decoded.metadata)

        var bad = Google_Rpc_BadRequest()
        var violation = Google_Rpc_BadRequest.FieldViolation()
        violation.field = "config.persistence"
        violation.description = "must be 1..100"
        bad.fieldViolations = [violation, .init()]
        try assertRoundTrip(bad)
    }

    func testAbsentSubMessagesStayNil() throws {
        let decoded = try assertRoundTrip(Kato_V2_Session())
        XCTAssertNil(decoded.createdAt)
        XCTAssertNil(decoded.config)
    }

    func testWrapperFieldsDistinguishUnsetFromZero() throws {
        var config = Kato_V2_SessionConfig()
        config.maxPatternLength = 0
        config.recallThreshold = 0.0
        config.indexerType = ""
        config.sortSymbols = false
        let decoded = try assertRoundTrip(config)
        XCTAssertEqual(decoded.maxPatternLength, 0)
        XCTAssertEqual(decoded.recallThreshold, 0.0)
        XCTAssertEqual(decoded.indexerType, "")
        XCTAssertEqual(decoded.sortSymbols, false)
        XCTAssertNil(decoded.persistence)
        XCTAssertNil(decoded.processPredictions)

        config.maxPatternLength = -3
        config.persistence = Int64.max
        config.indexerType = "VI"
        config.maxPredictions = 100
        config.processPredictions = true
        try assertRoundTrip(config)
    }

    func testEnumRawValuesMapToCasesWithThePrefixStripped() {
        XCTAssertEqual(Kato_V2_StmMode(rawValue: 0), .unspecified)
        XCTAssertEqual(Kato_V2_StmMode(rawValue: 2), .rolling)
        XCTAssertEqual(Kato_V2_UpdateCause(rawValue: 4), .autoLearn)
        XCTAssertEqual(Kato_V2_UpdateCause.clearAll.rawValue, 6)
        XCTAssertEqual(Grpc_Health_V1_HealthCheckResponse.ServingStatus(rawValue: 2), .notServing)
        XCTAssertEqual(Kato_V2_StmMode(), .unspecified)
        XCTAssertEqual(Kato_V2_StmMode.allCases, [.unspecified, .clear, .rolling])
    }

    func testLargeRepeatedFieldsAndMapsSpillOutOfTheInlineArena() throws {
        var observation = Kato_V2_Observation()
        observation.strings = (0..<5_000).map { "symbol-\($0)" }
        observation.emotives = Dictionary(uniqueKeysWithValues: (0..<1_000).map { ("e\($0)", Double($0)) })
        try assertRoundTrip(observation)
    }

    func testKatoMessagesWithEveryFieldSetRoundTrip() throws {
        var event = Kato_V2_Event()
        event.symbols = ["VCTR|abc", "hello"]
        var prediction = Kato_V2_Prediction()
        prediction.type = "prototypical"
        prediction.name = String(repeating: "f", count: 40)
        prediction.frequency = 3
        prediction.emotives = ["joy": 0.25]
        prediction.matches = ["hello"]
        prediction.past = [event]
        prediction.present = [event, event]
        prediction.future = [Kato_V2_Event()]
        prediction.missing = [event]
        prediction.extras = []
        prediction.sequence = [event]
        prediction.similarity = 0.5
        prediction.evidence = 0.1
        prediction.confidence = 1
        prediction.fragmentation = -1
        prediction.snr = 2
        prediction.entropy = 0
        prediction.normalizedEntropy = 0.3
        prediction.globalNormalizedEntropy = 0.4
        prediction.confluence = 0.6
        prediction.potential = 0.7
        prediction.predictiveInformation = 0.8
        prediction.itfdfSimilarity = 0.9
        prediction.patternProbability = 0.11
        prediction.weightedStrength = 12
        var update = Kato_V2_PredictionUpdate()
        update.sessionID = "s"
        update.sequence = 9
        update.cause = .autoLearn
        update.stm = [event]
        update.predictions = [prediction, prediction]
        var potential = Kato_V2_FuturePotential()
        potential.future = [event]
        potential.aggregatePotential = 1.5
        potential.supportingPatterns = 2
        potential.totalWeightedFrequency = 3.5
        update.futurePotentials = [potential]
        update.time = 100
        try assertRoundTrip(update)
    }

    func testInvalidUTF8InRepeatedStringsAndStringWrappersFails() {
        // ObserveRequest.strings (field 3, repeated string)
        assertDecodingFails(Kato_V2_ObserveRequest.self, [0x1a, 0x02, 0x61, 0xfe])
        // ObserveRequest.emotives (field 5): entry { key (1) = 0xff }
        assertDecodingFails(Kato_V2_ObserveRequest.self, [0x2a, 0x03, 0x0a, 0x01, 0xff])
        // SessionConfig.indexer_type (field 5, StringValue { value (1) = 0xff })
        assertDecodingFails(Kato_V2_SessionConfig.self, [0x2a, 0x03, 0x0a, 0x01, 0xff])
    }
}
#endif

#if canImport(KatoProto) && canImport(CKatoProtos)
/// kato.v2 messages written by protoc decode as expected, and kato writes protoc's bytes.
final class KatoProtocCompatibilityTests: XCTestCase {
    func testObserveRequestMatchesProtocByteForByte() throws {
        let text = """
            session_id: "session-1"
            node_id: "node-\\303\\274"
            strings: ["hello", "", "world"]
            vectors { values: [1.5, -2, 0] }
            vectors { }
            emotives { key: "fear" value: -0.25 }
            emotives { key: "joy" value: 1 }
            metadata { key: "k" value { list_value { values { number_value: 1 } values { string_value: "two" } } } }
            unique_id: "obs-1"
            """
        let protocBytes = try Protoc.encode("kato.v2.ObserveRequest", text, protos: Protoc.katoProtos)
        var vector = Kato_V2_Vector()
        vector.values = [1.5, -2, 0]
        var expected = Kato_V2_ObserveRequest()
        expected.sessionID = "session-1"
        expected.nodeID = "node-ü"
        expected.strings = ["hello", "", "world"]
        expected.vectors = [vector, Kato_V2_Vector()]
        expected.emotives = ["joy": 1, "fear": -0.25]
        expected.metadata = ["k": .list([.number(1), .string("two")])]
        expected.uniqueID = "obs-1"
        XCTAssertEqual(try Kato_V2_ObserveRequest(serializedBytes: protocBytes), expected)
        XCTAssertEqual(expected.serializedBytes(), protocBytes)
    }

    func testSessionConfigWrappersMatchProtocInBothDirections() throws {
        var config = Kato_V2_SessionConfig()
        config.maxPatternLength = 0
        config.recallThreshold = 0.3
        config.stmMode = .rolling
        config.indexerType = "VI"
        config.sortSymbols = false
        var request = Kato_V2_UpdateSessionConfigRequest()
        request.sessionID = "s"
        request.config = config
        XCTAssertEqual(try Protoc.decode("kato.v2.UpdateSessionConfigRequest", request.serializedBytes(), protos: Protoc.katoProtos), """
            session_id: "s"
            config {
              max_pattern_length {
              }
              recall_threshold {
                value: 0.3
              }
              stm_mode: STM_MODE_ROLLING
              indexer_type {
                value: "VI"
              }
              sort_symbols {
              }
            }

            """)
        let protocBytes = try Protoc.encode(
            "kato.v2.UpdateSessionConfigRequest",
            #"session_id: "s" config { max_pattern_length {} recall_threshold { value: 0.3 } stm_mode: STM_MODE_ROLLING indexer_type { value: "VI" } sort_symbols {} }"#,
            protos: Protoc.katoProtos
        )
        XCTAssertEqual(protocBytes, request.serializedBytes())
        XCTAssertEqual(try Kato_V2_UpdateSessionConfigRequest(serializedBytes: protocBytes), request)
    }
}
#endif

#if canImport(KatoProto) && canImport(CKatoProtos)
/// The generated kato.v2 types agree with the protoc-c descriptors, and list their services.
final class KatoGeneratedCodeTests: XCTestCase {
    func testEveryKatoMessageMatchesItsDescriptorAndRoundTripsItsDefault() throws {
        XCTAssertEqual(Kato_V2_ProtoFiles.messageTypes.count, 49)
        for type in Kato_V2_ProtoFiles.messageTypes {
            XCTAssertEqual(type.cDescriptor.protoName, type.protoMessageName)
            XCTAssertEqual(type.cDescriptor.fieldNumbers, type.cDescriptor.fieldNumbers.sorted())
            try roundTripDefault(type)
        }
    }

    private func roundTripDefault<M: ProtoMessage>(_ type: M.Type) throws {
        XCTAssertEqual(M().serializedBytes(), [], M.protoMessageName)
        XCTAssertEqual(try M(serializedBytes: []), M(), M.protoMessageName)
    }

    func testKatoServicesAndTheirMethodsAreListedPerFile() {
        XCTAssertEqual(Kato_V2_ProtoFiles.all.map(\.name), ["kato/v2/knowledge.proto", "kato/v2/observe.proto", "kato/v2/predict.proto", "kato/v2/session.proto", "kato/v2/types.proto"])
        XCTAssertEqual(Kato_V2_ProtoFiles.all.flatMap(\.serviceNames), ["kato.v2.KnowledgeBaseService", "kato.v2.ObserveService", "kato.v2.PredictService", "kato.v2.SessionService"])
        XCTAssertEqual(Kato_V2_ObserveService.observeStream.kind, .bidirectionalStreaming)
        XCTAssertEqual(Kato_V2_PredictService.subscribePredictions.kind, .serverStreaming)
        XCTAssertEqual(Kato_V2_SessionService.createSession.path, "/kato.v2.SessionService/CreateSession")
        XCTAssertEqual(Kato_V2_SessionService.methods.map(\.methodName), ["CreateSession", "GetSession", "ExtendSession", "DeleteSession", "UpdateSessionConfig", "CountSessions"])
    }
}
#endif
