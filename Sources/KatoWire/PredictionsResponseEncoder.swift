import KatoEngine

/// Writes a `kato.v2.GetPredictionsResponse` in protobuf wire format straight from the session's
/// predictions (`PredictionWire`): the message `Convert.prediction`/`futurePotential` and
/// protobuf-c give, without the string arrays, the proto structs and the C structs.
package enum PredictionsResponseEncoder {
    package static func encode(sessionID: String, predictions: [Prediction], futurePotentials: FuturePotentials) -> [UInt8] {
        typealias W = PredictionWire
        let capacity = W.estimate(predictions: predictions.count, futurePotentials: futurePotentials.count)
        return W.bytes(capacity: capacity) { w in
            w.string(1, sessionID)
            w.lists(predictions, at: 2, futurePotentials, at: 3)
            w.int64(4, Int64(predictions.count))
        }
    }
}
