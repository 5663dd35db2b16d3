import Foundation
import XCTest

@testable import GRPCH2Core

final class DescriptorIndexTests: XCTestCase {
    func testDescriptorIndexFindsFilesSymbolsAndServices() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
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
