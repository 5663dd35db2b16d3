import XCTest

@testable import GRPCH2

/// `ServerStreamStateMachine`: every event in every state, without a socket or a session.
final class ServerStreamStateMachineTests: XCTestCase {
    typealias Machine = ServerStreamStateMachine

    /// The states a stream can be in, by name, each built through the machine's own events.
    enum State: CaseIterable {
        case headers, receivingUnary, receivingServerStreaming, receivingClientStreaming, receivingBidi, finished

        var machine: Machine {
            var m = Machine()
            switch self {
            case .headers: break
            case .receivingUnary: m.callStarted(kind: .unary, requestCompressed: false, compressResponses: false)
            case .receivingServerStreaming: m.callStarted(kind: .serverStreaming, requestCompressed: false, compressResponses: false)
            case .receivingClientStreaming: m.callStarted(kind: .clientStreaming, requestCompressed: false, compressResponses: false)
            case .receivingBidi: m.callStarted(kind: .bidirectionalStreaming, requestCompressed: false, compressResponses: false)
            case .finished:
                m.callStarted(kind: .unary, requestCompressed: false, compressResponses: false)
                _ = m.finish(responsePending: false)
            }
            return m
        }

        var isReceiving: Bool { ![.headers, .finished].contains(self) }
        var streamsRequests: Bool { self == .receivingClientStreaming || self == .receivingBidi }
    }

    // MARK: callStarted

    func testCallStartedMovesOnlyAStreamInHeadersToReceiving() {
        for state in State.allCases {
            var m = state.machine
            let before = m
            m.callStarted(kind: .clientStreaming, requestCompressed: true, compressResponses: true)
            if state == .headers {
                XCTAssertEqual(m.phase, .receiving)
                XCTAssertEqual(m.kind, .clientStreaming)
                XCTAssertTrue(m.requestCompressed)
                XCTAssertTrue(m.compressResponses)
                XCTAssertTrue(m.streamsRequests)
            } else {
                XCTAssertEqual(m, before, "\(state): a started or finished call does not start again")
            }
        }
    }

    // MARK: data and messages

    func testDataIsCreditedAtOnceUnlessAStreamingHandlerWillReadIt() {
        for state in State.allCases {
            var m = state.machine
            let action = m.dataReceived(count: 100)
            switch state {
            case .headers, .finished:
                XCTAssertEqual(action, .discard(100), "\(state)")
                XCTAssertEqual(m.unconsumedBytes, 0, "\(state)")
            case .receivingUnary, .receivingServerStreaming:
                XCTAssertEqual(action, .consumeAndDeframe(100), "\(state)")
                XCTAssertEqual(m.unconsumedBytes, 0, "\(state)")
            case .receivingClientStreaming, .receivingBidi:
                XCTAssertEqual(action, .holdAndDeframe, "\(state)")
                XCTAssertEqual(m.unconsumedBytes, 100, "\(state)")
            }
        }
    }

    func testAMessageGoesToAStreamingHandlerOrIsCollectedOrDropped() {
        for state in State.allCases {
            var m = state.machine
            let action = m.messageReceived([1, 2])
            switch state {
            case .headers, .finished:
                XCTAssertEqual(action, .dropped, "\(state)")
            case .receivingUnary, .receivingServerStreaming:
                XCTAssertEqual(action, .collected, "\(state)")
                XCTAssertEqual(m.requestCount, 1)
                XCTAssertEqual(m.firstRequest, [1, 2])
            case .receivingClientStreaming, .receivingBidi:
                XCTAssertEqual(action, .deliver([1, 2]), "\(state)")
                XCTAssertEqual(m.unreadMessages, 1)
                XCTAssertEqual(m.requestCount, 0)
            }
        }
    }

    func testASecondUnaryRequestMessageFailsTheCallAndServerStreamingCollectsBoth() {
        var unary = State.receivingUnary.machine
        XCTAssertEqual(unary.messageReceived([1]), .collected)
        guard case .fail(let error) = unary.messageReceived([2]) else { return XCTFail("second unary message accepted") }
        XCTAssertEqual(error.code, .unimplemented)

        var streaming = State.receivingServerStreaming.machine
        XCTAssertEqual(streaming.messageReceived([1]), .collected)
        XCTAssertEqual(streaming.messageReceived([2]), .collected)
        XCTAssertEqual(streaming.messageReceived([3]), .collected)
        XCTAssertEqual(streaming.requestEnded(partialMessage: false), .startHandler(count: 3, first: [1], rest: [[2], [3]]))
    }

    func testACompressedMessageNeedsGRPCEncodingOnTheRequest() {
        var plain = Machine()
        plain.callStarted(kind: .unary, requestCompressed: false, compressResponses: false)
        XCTAssertNil(plain.checkCompression(false))
        XCTAssertEqual(plain.checkCompression(true)?.code, .internalError)
        var gzip = Machine()
        gzip.callStarted(kind: .unary, requestCompressed: true, compressResponses: false)
        XCTAssertNil(gzip.checkCompression(true))
        XCTAssertNil(gzip.checkCompression(false))
    }

    // MARK: end of request

    func testRequestEndedInEveryState() {
        for state in State.allCases {
            var m = state.machine
            let action = m.requestEnded(partialMessage: false)
            XCTAssertTrue(m.remoteClosed, "\(state)")
            switch state {
            case .headers, .finished:
                XCTAssertEqual(action, .none, "\(state)")
            case .receivingUnary:
                guard case .fail(let error) = action else { return XCTFail("unary without a message started") }
                XCTAssertEqual(error.code, .unimplemented)
            case .receivingServerStreaming:
                XCTAssertEqual(action, .startHandler(count: 0, first: [], rest: []), "\(state)")
            case .receivingClientStreaming, .receivingBidi:
                XCTAssertEqual(action, .finishRequestStream, "\(state)")
            }
        }
    }

    func testARequestEndingInsideAMessageFailsEveryReceivingCall() {
        for state in State.allCases where state.isReceiving {
            var m = state.machine
            guard case .fail(let error) = m.requestEnded(partialMessage: true) else { return XCTFail("\(state)") }
            XCTAssertEqual(error.code, .internalError)
        }
    }

    func testAUnaryCallStartsWithItsOneMessageAndHandsItOver() {
        var m = State.receivingUnary.machine
        XCTAssertEqual(m.messageReceived([7, 8, 9]), .collected)
        XCTAssertEqual(m.requestEnded(partialMessage: false), .startHandler(count: 1, first: [7, 8, 9], rest: []))
        XCTAssertEqual(m.firstRequest, [], "the message is handed over, not kept")
        XCTAssertEqual(m.requestCount, 0)
    }

    // MARK: flow control

    func testHeldCreditIsReturnedOnlyOnceTheHandlerHasReadEverything() {
        var m = State.receivingClientStreaming.machine
        XCTAssertEqual(m.dataReceived(count: 10), .holdAndDeframe)
        XCTAssertEqual(m.messageReceived([1]), .deliver([1]))
        XCTAssertEqual(m.dataReceived(count: 20), .holdAndDeframe)
        XCTAssertEqual(m.messageReceived([2]), .deliver([2]))
        XCTAssertEqual(m.creditIfCaughtUp(), 0, "two messages unread: the credit is held")
        XCTAssertEqual(m.handlerRead(), 0, "one still unread")
        XCTAssertEqual(m.handlerRead(), 30, "caught up: every held byte is credited")
        XCTAssertEqual(m.unconsumedBytes, 0)
        XCTAssertEqual(m.handlerRead(), 0, "nothing unread: nothing to count down")
        XCTAssertEqual(m.unreadMessages, 0)
    }

    func testCreditIfCaughtUpInEveryState() {
        for state in State.allCases {
            var m = state.machine
            _ = m.dataReceived(count: 5)
            let credit = m.creditIfCaughtUp()
            // Only a streaming call holds credit; with nothing unread it is returned at once.
            XCTAssertEqual(credit, state.streamsRequests ? 5 : 0, "\(state)")
            XCTAssertEqual(m.unconsumedBytes, 0, "\(state)")
        }
    }

    func testFinishingReleasesHeldCreditForTheConnection() {
        var m = State.receivingBidi.machine
        _ = m.dataReceived(count: 1000)
        _ = m.messageReceived([1])
        XCTAssertEqual(m.finish(responsePending: false), .trailersOnly(releaseCredit: 1000))
        XCTAssertEqual(m.unconsumedBytes, 0)
        XCTAssertEqual(m.unreadMessages, 0)
        XCTAssertEqual(m.creditIfCaughtUp(), 0, "released once, not again")
    }

    func testAbandoningReleasesHeldCreditInEveryState() {
        for state in State.allCases {
            var m = state.machine
            _ = m.dataReceived(count: 64)
            _ = m.messageReceived([1])
            XCTAssertEqual(m.abandon(), state.streamsRequests ? 64 : 0, "\(state)")
            XCTAssertEqual(m.phase, .finished)
            XCTAssertEqual(m.unconsumedBytes, 0)
            XCTAssertEqual(m.unreadMessages, 0)
            XCTAssertEqual(m.abandon(), 0, "\(state): a second abandon releases nothing")
        }
    }

    // MARK: response

    func testFinishInEveryStateIsTrailersOnlyUntilSomethingWasSent() {
        for state in State.allCases {
            var m = state.machine
            let action = m.finish(responsePending: false)
            if state == .finished {
                XCTAssertNil(action, "a finished call does not finish again")
            } else {
                XCTAssertEqual(action, .trailersOnly(releaseCredit: 0), "\(state)")
            }
            XCTAssertEqual(m.phase, .finished)
            XCTAssertTrue(m.responseHeadersSubmitted, "\(state)")
            XCTAssertFalse(m.responseHeadersNeeded(), "\(state): the stream is ended by its headers")
        }
    }

    func testFinishAfterResponseHeadersOrWithQueuedMessagesSendsTrailers() {
        var sent = State.receivingServerStreaming.machine
        XCTAssertTrue(sent.responseHeadersNeeded())
        XCTAssertFalse(sent.responseHeadersNeeded(), "headers go out once")
        XCTAssertEqual(sent.finish(responsePending: false), .trailers(releaseCredit: 0))

        var queued = State.receivingUnary.machine
        XCTAssertEqual(queued.finish(responsePending: true), .trailers(releaseCredit: 0))
    }

    func testRefusingEndsTheStreamWithItsHeaders() {
        for state in State.allCases {
            var m = state.machine
            m.refuse()
            XCTAssertEqual(m.phase, .finished, "\(state)")
            XCTAssertFalse(m.responseHeadersNeeded(), "\(state)")
            XCTAssertNil(m.finish(responsePending: false), "\(state)")
        }
    }

    // MARK: reuse

    func testResetReturnsEveryFieldToItsInitialValue() {
        for state in State.allCases {
            var m = state.machine
            // Touch every field the events can set.
            _ = m.dataReceived(count: 9)
            _ = m.messageReceived([1])
            _ = m.messageReceived([2])
            _ = m.requestEnded(partialMessage: true)
            _ = m.responseHeadersNeeded()
            m.reset()
            XCTAssertEqual(m, Machine(), "\(state)")
        }
        // And a machine with every field away from its default at once.
        var m = Machine()
        m.callStarted(kind: .bidirectionalStreaming, requestCompressed: true, compressResponses: true)
        _ = m.dataReceived(count: 3)
        _ = m.messageReceived([5])
        _ = m.responseHeadersNeeded()
        _ = m.requestEnded(partialMessage: false)
        XCTAssertNotEqual(m, Machine())
        m.reset()
        XCTAssertEqual(m, Machine())
        XCTAssertEqual(m.phase, .headers)
        XCTAssertFalse(m.remoteClosed || m.requestCompressed || m.compressResponses || m.streamsRequests)
        XCTAssertEqual(m.unconsumedBytes + m.unreadMessages + m.requestCount, 0)
    }

    func testACollectedServerStreamingRequestIsNotCarriedIntoTheNextCall() {
        var m = State.receivingServerStreaming.machine
        _ = m.messageReceived([1])
        _ = m.messageReceived([2])
        m.reset()
        m.callStarted(kind: .unary, requestCompressed: false, compressResponses: false)
        XCTAssertEqual(m.messageReceived([3]), .collected, "a fresh unary call takes its first message")
        XCTAssertEqual(m.requestEnded(partialMessage: false), .startHandler(count: 1, first: [3], rest: []))
    }
}
