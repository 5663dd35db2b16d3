import GRPCH2
import Logging
import XCTest

/// `ServerConfiguration.validate()`: the defaults are valid, and each setting no server can honour
/// is refused by name — and `GRPCServer.start` refuses it before binding anything (a negative
/// `maxBufferedResponseBytes` used to leave every streaming writer waiting for ever).
final class ServerConfigurationTests: XCTestCase {
    func testTheDefaultsAreValid() throws {
        try ServerConfiguration().validate()
    }

    func testEachSettingOutsideItsRangeIsRefusedByName() {
        let cases: [(String, (inout ServerConfiguration) -> Void)] = [
            ("port", { $0.port = 70000 }),
            ("port", { $0.port = -1 }),
            ("maxReceiveMessageSize", { $0.maxReceiveMessageSize = 0 }),
            ("maxSendMessageSize", { $0.maxSendMessageSize = -5 }),
            ("maxConcurrentStreams", { $0.maxConcurrentStreams = 0 }),
            ("initialStreamWindow", { $0.initialStreamWindow = UInt32(Int32.max) + 1 }),
            ("connectionWindow", { $0.connectionWindow = 0 }),
            ("maxHeaderListSize", { $0.maxHeaderListSize = 0 }),
            ("maxBufferedResponseBytes", { $0.maxBufferedResponseBytes = -1 }),
            ("maxBufferedPushBytes", { $0.maxBufferedPushBytes = -1 }),
            ("pushCoalescingDelay", { $0.pushCoalescingDelay = .milliseconds(-1) }),
            ("pushCoalescingStreams", { $0.pushCoalescingStreams = 0 }),
            ("handlerExitBound", { $0.handlerExitBound = .seconds(-1) }),
            ("streamResets.burst", { $0.streamResets.burst = 0 }),
            ("streamResets.perSecond", { $0.streamResets.perSecond = 0 }),
            ("keepalive.pingInterval", { $0.keepalive.pingInterval = .zero }),
            ("keepalive.pingTimeout", { $0.keepalive.pingTimeout = .zero }),
            ("keepalive.maxIdle", { $0.keepalive.maxIdle = .seconds(-3) }),
            ("keepalive.maxAge", { $0.keepalive.maxAge = .zero }),
            ("keepalive.gracePeriod", { $0.keepalive.gracePeriod = .milliseconds(-10) }),
            ("web.requestTimeout", { $0.web.requestTimeout = .zero }),
        ]
        for (setting, change) in cases {
            var configuration = ServerConfiguration()
            change(&configuration)
            do throws(InvalidServerConfiguration) {
                try configuration.validate()
                XCTFail("\(setting): an invalid value was accepted")
            } catch {
                XCTAssertEqual(error.setting, setting)
                XCTAssertTrue(error.description.hasPrefix("ServerConfiguration.\(setting) must be "), error.description)
            }
        }
    }

    func testZeroIsAcceptedWhereItMeansNoneOrAtOnce() throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.pushCoalescingDelay = .zero
        configuration.handlerExitBound = .zero
        configuration.keepalive.gracePeriod = .zero
        // Zero buffers: a writer waits, a push source parks, as soon as anything is queued
        // (ResponsePushTests serve with both).
        configuration.maxBufferedResponseBytes = 0
        configuration.maxBufferedPushBytes = 0
        try configuration.validate()
    }

    func testTheServerRefusesToStartWithANegativeResponseBufferLimit() async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.maxBufferedResponseBytes = -1
        let server = GRPCServer(configuration: configuration, router: ServiceRouter(), logger: Logger(label: "test"))
        do {
            try await server.start()
            XCTFail("a server started with maxBufferedResponseBytes = -1")
        } catch let error as InvalidServerConfiguration {
            XCTAssertEqual(error.setting, "maxBufferedResponseBytes")
        }
        XCTAssertNil(server.localAddress, "nothing was bound")
        await server.shutdown()
    }
}
