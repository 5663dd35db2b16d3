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
    /// missed meanwhile follow in order, or one `.gap` update with the state now. It keeps
    /// resuming for `resumeFor` after the first failure in a row (long enough to ride out a
    /// replica's restart or a PostgreSQL outage), backing off from 0.1 s to at most 2 s with
    /// jitter; then the stream throws the last error. An update received starts the budget again.
    public func subscribe(sendInitial: Bool = true, resumeFor: Duration = .seconds(30)) async throws
        -> AsyncThrowingStream<Kato_V2_PredictionUpdate, any Error>
    {
        let method = Kato_V2_PredictService.subscribePredictions
        // The state at subscription is always asked for, and yielded only if the caller asked:
        // its sequence is where a resume starts when the server dies before any other update
        // arrived (resubscribing from nothing would leave a silent hole).
        let first = try await client.grpc.serverStreaming(method, subscribeRequest(sendInitial: true, resumeAfter: nil))
        return AsyncThrowingStream { continuation in
            let task = Task {
                var responses: ClientCall.Responses<Kato_V2_PredictionUpdate>? = first
                var last: Int64?
                var hideInitial = !sendInitial
                var failures = 0
                var failingSince: ContinuousClock.Instant?
                while true {
                    do {
                        if responses == nil {
                            // Nothing seen: subscribe again as at first; else resume after the
                            // last sequence seen (0 included: a new session's initial state).
                            let request = last.map { subscribeRequest(sendInitial: false, resumeAfter: $0) }
                                ?? subscribeRequest(sendInitial: true, resumeAfter: nil)
                            responses = try await client.grpc.serverStreaming(method, request)
                        }
                        for try await update in responses! {
                            if hideInitial, last == nil, update.cause == .initial {
                                hideInitial = false
                                last = update.sequence
                                failures = 0
                                failingSince = nil
                                continue
                            }
                            if let seen = last, update.sequence <= seen, update.cause != .initial, update.cause != .gap { continue }
                            last = update.sequence
                            failures = 0
                            failingSince = nil
                            continuation.yield(update)
                        }
                        continuation.finish()
                        return
                    } catch let error as RPCError where (error.code == .unavailable || error.code == .unknown)
                        && !Task.isCancelled
                        && ContinuousClock.now - (failingSince ?? .now) < resumeFor
                    {
                        if failingSince == nil { failingSince = .now }
                        failures += 1
                        responses = nil
                        let backoff = Double(min(2000, 100 << min(failures - 1, 5))) * Double.random(in: 0.5...1)
                        try? await Task.sleep(for: .milliseconds(backoff))
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// `resumeAfter` set: a resume after that sequence; nil: a new subscription.
    private func subscribeRequest(sendInitial: Bool, resumeAfter: Int64?) -> Kato_V2_SubscribePredictionsRequest {
        var request = Kato_V2_SubscribePredictionsRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        request.sendInitial = sendInitial
        if let resumeAfter { request.resumeAfterSequence = resumeAfter }
        return request
    }

    public func delete() async throws {
        var request = Kato_V2_DeleteSessionRequest()
        request.sessionID = sessionID
        _ = try await client.call(Kato_V2_SessionService.deleteSession, request)
    }
}
