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

    /// Prediction updates after every STM change, as they happen.
    public func subscribe(sendInitial: Bool = true) async throws -> ClientCall.Responses<Kato_V2_PredictionUpdate> {
        var request = Kato_V2_SubscribePredictionsRequest()
        request.sessionID = sessionID
        request.nodeID = nodeID
        request.sendInitial = sendInitial
        return try await client.grpc.serverStreaming(Kato_V2_PredictService.subscribePredictions, request)
    }

    public func delete() async throws {
        var request = Kato_V2_DeleteSessionRequest()
        request.sessionID = sessionID
        _ = try await client.call(Kato_V2_SessionService.deleteSession, request)
    }
}
