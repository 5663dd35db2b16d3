import ProtobufCBridge
import XCTest

@testable import GRPCH2Core

/// Server reflection (v1 and v1alpha) from the server's descriptor set: the listed services,
/// a file with its dependencies by name or by symbol, and NOT_FOUND answers in the stream
/// (not as the call's status) for what it does not hold.
/// (Byte arrays are compared with XCTAssertTrue: a failure would print whole descriptors.)
final class ReflectionServiceTests: XCTestCase {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    static let service = ReflectionService(index: try! DescriptorIndex(descriptorSet: CoreTestSupport.descriptorSet))

    static func ask(_ requests: [Request], path: String = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        async throws -> [Response]
    {
        var router = ServiceRouter()
        router.register(service)
        let response = await InProcessTransport(router: router).call(path: path, requests: requests.map { $0.serializedBytes() })
        XCTAssertEqual(response.code, .ok)
        return try response.messages.map { try Response(serializedBytes: $0) }
    }

    static func request(_ build: (inout Request) -> Void) -> Request {
        var r = Request()
        r.host = "localhost"
        build(&r)
        return r
    }

    func testListServicesNamesTheIndexedServicesOnBothVersions() async throws {
        for path in ReflectionService.serviceNames.map({ "/\($0)/ServerReflectionInfo" }) {
            let answers = try await Self.ask([Self.request { $0.messageRequest = .listServices("*") }], path: path)
            guard case .listServicesResponse(let list)? = answers.first?.messageResponse else {
                return XCTFail("\(path): \(String(describing: answers.first))")
            }
            XCTAssertTrue(list.service.map(\.name).contains("kato.v2.SessionService"), path)
            XCTAssertEqual(answers.first?.validHost, "localhost")
        }
    }

    func testAFileComesWithItsDependenciesByNameAndBySymbol() async throws {
        let answers = try await Self.ask([
            Self.request { $0.messageRequest = .fileByFilename("kato/v2/observe.proto") },
            Self.request { $0.messageRequest = .fileContainingSymbol("kato.v2.ObserveService.Observe") },
        ])
        XCTAssertEqual(answers.count, 2, "one answer per request, in order")
        for answer in answers {
            guard case .fileDescriptorResponse(let files)? = answer.messageResponse else {
                return XCTFail("\(answer)")
            }
            let chain = Self.service.index.fileWithDependencies("kato/v2/observe.proto")
            XCTAssertGreaterThan(chain.count, 1, "its dependencies come with it")
            XCTAssertTrue(files.fileDescriptorProto.first == Self.service.index.files["kato/v2/observe.proto"]?.serialized,
                          "the requested file first (as grpc-go sends it)")
            XCTAssertTrue(files.fileDescriptorProto == chain.reversed().map(\.serialized), "then its dependencies")
        }
        XCTAssertEqual(answers[1].originalRequest?.fileContainingSymbol, "kato.v2.ObserveService.Observe")
    }

    func testWhatTheIndexDoesNotHoldIsNotFoundInTheAnswerAndTheStreamGoesOn() async throws {
        let answers = try await Self.ask([
            Self.request { $0.messageRequest = .fileByFilename("no/such.proto") },
            Self.request { $0.messageRequest = .fileContainingSymbol("no.Such") },
            Self.request { _ in },
            Self.request { $0.messageRequest = .listServices("") },
        ])
        let codes = answers.map { answer -> Int32? in
            if case .errorResponse(let e)? = answer.messageResponse { return e.errorCode }
            return nil
        }
        XCTAssertEqual(codes, [Int32(StatusCode.notFound.rawValue), Int32(StatusCode.notFound.rawValue),
                               Int32(StatusCode.invalidArgument.rawValue), nil])
    }

    func testAServiceListCanBeNarrowed() async throws {
        let narrowed = ReflectionService(index: Self.service.index, services: ["kato.v2.PredictService"])
        let answer = narrowed.answer(Self.request { $0.messageRequest = .listServices("") })
        guard case .listServicesResponse(let list)? = answer.messageResponse else { return XCTFail("\(answer)") }
        XCTAssertEqual(list.service.map(\.name), ["kato.v2.PredictService"])
    }
}
