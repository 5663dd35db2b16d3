import KatoEngine
import KatoProto
import KatoWire

/// Writes a `kato.v2.PredictionUpdate` in protobuf wire format straight from the engine's
/// session state: the same message `Session.update(...).serializedBytes()` gives (equal once
/// decoded), without building the proto structs and then protobuf-c's C structs from them —
/// two copies of every prediction's strings, which with 10 subscribers per session were ≈ 10 %
/// of the server's CPU per delivered update (docs/BENCHMARKS.md "Serving"). The predictions'
/// symbols are read in place (`PredictionWire`).
///
/// One pass: a nested message's length is written after its body (`PredictionWire.Writer.begin`/`end`).
enum PredictionUpdateEncoder {
    static func encode(id: String, sequence: Int64, cause: Kato_V2_UpdateCause, state: SessionState) -> [UInt8] {
        typealias W = PredictionWire
        let capacity = W.estimate(predictions: state.predictions.count, futurePotentials: state.futurePotentials.count)
        return W.bytes(capacity: capacity) { w in
            w.string(1, id)
            w.int64(2, sequence)
            w.int64(3, Int64(cause.rawValue))
            w.events(4, state.stm)
            w.lists(state.predictions, at: 5, state.futurePotentials, at: 6)
            w.int64(7, Int64(state.time))
        }
    }
}
