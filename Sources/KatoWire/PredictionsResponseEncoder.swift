import KatoEngine

/// Writes a `kato.v2.GetPredictionsResponse` in protobuf wire format straight from the session's
/// predictions (`PredictionWire`): the message `Convert.prediction`/`futurePotential` and
/// protobuf-c give, without the string arrays, the proto structs and the C structs.
package enum PredictionsResponseEncoder {
    package static func encode(sessionID: String, predictions: [Prediction], futurePotentials: [FuturePotential]) -> [UInt8] {
        typealias W = PredictionWire
        let lists = W.Lists(predictions: predictions, at: 2, futurePotentials: futurePotentials, at: 3)
        let size = W.string(1, sessionID) + lists.size + W.int64(4, Int64(predictions.count))

        return W.bytes(count: size) { w in
            w.string(1, sessionID)
            lists.write(into: &w)
            w.int64(4, Int64(predictions.count))
        }
    }
}
