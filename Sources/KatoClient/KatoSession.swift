import GRPCH2
import KatoProto
import ProtobufCBridge

/// One session (or a node's default session when `sessionID` is empty).
public struct KatoSession: Sendable {
    public let client: KatoClient
    public let sessionID: String
    public let nodeID: String

    /// Observes one event of strings (and optional vectors, emotives).
    @discardableResult
    public func observe(_ strings: [String], vectors: [[Double]] = [], emotives: [String: Double] = [:],
                        timeout: Duration? = nil) async throws -> Kato_V2_ObserveResponse {
        var request = Kato_V2_ObserveRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        request.strings = strings
        request.vectors = vectors.map { values in
            var v = Kato_V2_Vector()
            v.values = values
            return v
        }
        request.emotives = emotives
        return try await client.call(Kato_V2_ObserveService.observe, request, timeout: timeout)
    }

    /// Learns the STM; returns `PTRN|…` (empty when the STM held fewer than two symbols).
    public func learn() async throws -> String {
        var request = Kato_V2_LearnRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        return try await client.call(Kato_V2_ObserveService.learn, request).patternName
    }

    /// The STM, as lists of symbols.
    public func stm() async throws -> [[String]] {
        var request = Kato_V2_GetShortTermMemoryRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        return try await client.call(Kato_V2_ObserveService.getShortTermMemory, request).events.map(\.symbols)
    }

    public func clearSTM() async throws {
        var request = Kato_V2_ClearShortTermMemoryRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        _ = try await client.call(Kato_V2_ObserveService.clearShortTermMemory, request)
    }

    /// The predictions of the most recent observe.
    public func predictions() async throws -> Kato_V2_GetPredictionsResponse {
        var request = Kato_V2_GetPredictionsRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        return try await client.call(Kato_V2_PredictService.getPredictions, request)
    }

    /// Prediction updates after every STM change, as they happen. When the server goes away
    /// (UNAVAILABLE: its replica died or drains; or a stream a load balancer cut without a
    /// status) the subscription resumes by itself after the last sequence it yielded
    /// (`resume_after_sequence`; through a load balancer, on another replica): the updates
    /// missed meanwhile follow in order, or one `.gap` update with the state now. Up to
    /// `resumeAttempts` failures in a row; then the stream throws the last error.
    public func subscribe(sendInitial: Bool = true, resumeAttempts: Int = 5) async throws
        -> AsyncThrowingStream<Kato_V2_PredictionUpdate, any Error>
    {
        let method = Kato_V2_PredictService.subscribePredictions
        // The state at subscription is always asked for, and yielded only if the caller asked:
        // its sequence is where a resume starts when the server dies before any other update
        // arrived (resubscribing from nothing would leave a silent hole).
        let first = try await client.grpc.serverStreaming(method, subscribeRequest(sendInitial: true, resumeAfter: 0))
        return AsyncThrowingStream { continuation in
            let task = Task {
                var responses: ClientCall.Responses<Kato_V2_PredictionUpdate>? = first
                var last: Int64?
                var hideInitial = !sendInitial
                var failures = 0
                while true {
                    do {
                        if responses == nil {
                            // Nothing seen: subscribe again as at first; at sequence 0: the state now.
                            let request = last.map { $0 > 0
                                ? subscribeRequest(sendInitial: false, resumeAfter: $0)
                                : subscribeRequest(sendInitial: true, resumeAfter: 0) }
                                ?? subscribeRequest(sendInitial: true, resumeAfter: 0)
                            responses = try await client.grpc.serverStreaming(method, request)
                        }
                        for try await update in responses! {
                            if hideInitial, last == nil, update.cause == .initial {
                                hideInitial = false
                                last = update.sequence
                                failures = 0
                                continue
                            }
                            if let seen = last, update.sequence <= seen, update.cause != .initial, update.cause != .gap { continue }
                            last = update.sequence
                            failures = 0
                            continuation.yield(update)
                        }
                        continuation.finish()
                        return
                    } catch let error as RPCError where (error.code == .unavailable || error.code == .unknown)
                        && failures < resumeAttempts && !Task.isCancelled
                    {
                        failures += 1
                        responses = nil
                        try? await Task.sleep(for: .milliseconds(min(2000, 100 << (failures - 1))))
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func subscribeRequest(sendInitial: Bool, resumeAfter: Int64) -> Kato_V2_SubscribePredictionsRequest {
        var request = Kato_V2_SubscribePredictionsRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        request.sendInitial = sendInitial
        request.resumeAfterSequence = resumeAfter
        return request
    }

    public func delete() async throws {
        var request = Kato_V2_DeleteSessionRequest()
        request.sessionID = sessionID
        _ = try await client.call(Kato_V2_SessionService.deleteSession, request)
    }
}
