import KatoEngine
import KatoProto

/// Writes a `kato.v2.PredictionUpdate` in protobuf wire format straight from the engine's
/// session state: the same message `Session.update(...).serializedBytes()` gives (equal once
/// decoded), without building the proto structs and then protobuf-c's C structs from them —
/// two copies of every prediction's strings, which with 10 subscribers per session were ≈ 10 %
/// of the server's CPU per delivered update (docs/BENCHMARKS.md "Serving").
///
/// Two passes: sizes first (a nested message is written after its length), then the bytes,
/// into one array of the final size. Fields at their proto3 default are left out, as protobuf
/// encoders do; map entries (emotives) in key order, so equal states give equal bytes.
enum PredictionUpdateEncoder {
    static func encode(id: String, sequence: Int64, cause: Kato_V2_UpdateCause, state: SessionState) -> [UInt8] {
        let predictionSizes = state.predictions.map(predictionSize)
        let potentialSizes = state.futurePotentials.map(potentialSize)
        var size = string(1, id) + int64(2, sequence) + int64(3, Int64(cause.rawValue)) + events(4, state.stm)
        for s in predictionSizes { size += message(5, s) }
        for s in potentialSizes { size += message(6, s) }
        size += int64(7, Int64(state.time))

        var w = Writer(capacity: size)
        w.string(1, id)
        w.int64(2, sequence)
        w.int64(3, Int64(cause.rawValue))
        w.events(4, state.stm)
        for (p, s) in zip(state.predictions, predictionSizes) {
            w.head(5, length: s)
            w.prediction(p)
        }
        for (f, s) in zip(state.futurePotentials, potentialSizes) {
            w.head(6, length: s)
            w.events(1, f.future)
            w.double(2, f.aggregatePotential)
            w.int64(3, Int64(f.supportingPatterns))
            w.double(4, f.totalWeightedFrequency)
        }
        w.int64(7, Int64(state.time))
        assert(w.bytes.count == size, "PredictionUpdateEncoder: size pass and write pass disagree")
        return w.bytes
    }

    // MARK: sizes (each includes the field's tag)

    private static func varintSize(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
    private static func tagSize(_ field: Int) -> Int { field < 16 ? 1 : 2 }
    private static func message(_ field: Int, _ length: Int) -> Int { tagSize(field) + varintSize(UInt64(length)) + length }
    private static func string(_ field: Int, _ s: String) -> Int {
        let n = s.utf8.count
        return n == 0 ? 0 : message(field, n)
    }
    private static func int64(_ field: Int, _ v: Int64) -> Int { v == 0 ? 0 : tagSize(field) + varintSize(UInt64(bitPattern: v)) }
    private static func double(_ field: Int, _ v: Double) -> Int { v.bitPattern == 0 ? 0 : tagSize(field) + 8 }
    /// An `Event` (repeated string symbols = 1): its length.
    fileprivate static func eventSize(_ symbols: [String]) -> Int {
        var n = 0
        for s in symbols { n += message(1, s.utf8.count) }  // an empty symbol is still an element
        return n
    }
    private static func events(_ field: Int, _ events: [[String]]) -> Int {
        var n = 0
        for e in events { n += message(field, eventSize(e)) }
        return n
    }
    fileprivate static func emotiveEntrySize(_ key: String, _ value: Double) -> Int { string(1, key) + double(2, value) }

    private static func predictionSize(_ p: Prediction) -> Int {
        var n = string(1, p.type) + string(2, p.name) + int64(3, Int64(p.frequency))
        for (k, v) in p.emotives { n += message(4, emotiveEntrySize(k, v)) }
        for s in p.matches { n += message(5, s.utf8.count) }
        n += events(6, p.past) + events(7, p.present) + events(8, p.future)
        n += events(9, p.missing) + events(10, p.extras) + events(11, p.sequence)
        n += double(12, p.similarity) + double(13, p.evidence) + double(14, p.confidence) + double(15, p.fragmentation)
        n += double(16, p.snr) + double(17, p.entropy) + double(18, p.normalizedEntropy) + double(19, p.globalNormalizedEntropy)
        n += double(20, p.confluence) + double(21, p.potential) + double(22, p.predictiveInformation)
        n += double(23, p.itfdfSimilarity) + double(24, p.patternProbability) + double(25, p.weightedStrength)
        return n
    }

    private static func potentialSize(_ f: FuturePotential) -> Int {
        events(1, f.future) + double(2, f.aggregatePotential) + int64(3, Int64(f.supportingPatterns))
            + double(4, f.totalWeightedFrequency)
    }

    // MARK: writing

    private struct Writer {
        var bytes: [UInt8] = []

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }
        mutating func head(_ field: Int, length: Int) {
            tag(field, 2)
            varint(UInt64(length))
        }
        mutating func raw(_ field: Int, _ s: String) {
            head(field, length: s.utf8.count)
            bytes.append(contentsOf: s.utf8)
        }
        mutating func string(_ field: Int, _ s: String) { if !s.isEmpty { raw(field, s) } }
        mutating func int64(_ field: Int, _ v: Int64) {
            guard v != 0 else { return }
            tag(field, 0)
            varint(UInt64(bitPattern: v))
        }
        mutating func double(_ field: Int, _ v: Double) {
            guard v.bitPattern != 0 else { return }
            tag(field, 1)
            var bits = v.bitPattern
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: bits))
                bits >>= 8
            }
        }
        mutating func events(_ field: Int, _ events: [[String]]) {
            for e in events {
                head(field, length: PredictionUpdateEncoder.eventSize(e))
                for s in e { raw(1, s) }
            }
        }
        mutating func prediction(_ p: Prediction) {
            string(1, p.type)
            string(2, p.name)
            int64(3, Int64(p.frequency))
            for k in p.emotives.isEmpty ? [] : p.emotives.keys.sorted() {
                let v = p.emotives[k]!
                head(4, length: PredictionUpdateEncoder.emotiveEntrySize(k, v))
                string(1, k)
                double(2, v)
            }
            for s in p.matches { raw(5, s) }
            events(6, p.past)
            events(7, p.present)
            events(8, p.future)
            events(9, p.missing)
            events(10, p.extras)
            events(11, p.sequence)
            // types.proto `Prediction`, fields 12-25.
            double(12, p.similarity); double(13, p.evidence); double(14, p.confidence); double(15, p.fragmentation)
            double(16, p.snr); double(17, p.entropy); double(18, p.normalizedEntropy); double(19, p.globalNormalizedEntropy)
            double(20, p.confluence); double(21, p.potential); double(22, p.predictiveInformation)
            double(23, p.itfdfSimilarity); double(24, p.patternProbability); double(25, p.weightedStrength)
        }
    }
}
