import KatoEngine

/// Writes a `kato.v2.GetPredictionsResponse` in protobuf wire format straight from the session's
/// predictions (`PredictionWire`): the message `Convert.prediction`/`futurePotential` and
/// protobuf-c give, without the string arrays, the proto structs and the C structs.
enum PredictionsResponseEncoder {
    static func encode(sessionID: String, predictions: [Prediction], futurePotentials: [FuturePotential]) -> [UInt8] {
        typealias W = PredictionWire
        var eventSizes: [Int] = []
        let predictionSizes = predictions.map { W.predictionSize($0, &eventSizes) }
        let potentialSizes = futurePotentials.map { W.potentialSize($0, &eventSizes) }
        var size = W.string(1, sessionID)
        for s in predictionSizes { size += W.message(2, s) }
        for s in potentialSizes { size += W.message(3, s) }
        size += W.int64(4, Int64(predictions.count))

        var w = W.Writer(capacity: size)
        w.eventSizes = eventSizes
        w.string(1, sessionID)
        for (p, s) in zip(predictions, predictionSizes) {
            w.head(2, length: s)
            w.prediction(p)
        }
        for (f, s) in zip(futurePotentials, potentialSizes) {
            w.head(3, length: s)
            w.potential(f)
        }
        w.int64(4, Int64(predictions.count))
        assert(w.bytes.count == size, "PredictionsResponseEncoder: size pass and write pass disagree")
        return w.bytes
    }
}
