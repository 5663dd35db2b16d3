import KatoEngine

/// The protobuf wire form of `kato.v2.Prediction`, `FuturePotential` and `Event`, written straight
/// from the engine's values, so no string array is built for a compact prediction and no proto
/// struct or protobuf-c struct is filled. A computed prediction's pattern fields (`past`,
/// `present`, `future`, `sequence`) and a future potential's `future` are copied from the bytes
/// the pattern keeps in wire form (`Prediction.eventWire`, `FuturePotential.futureWire`: one copy
/// and a tag byte per event, sized in O(1)); the selections (`matches`, `missing`, `extras`) and
/// explicit fields are written per symbol from the pattern's and the STM's own strings, read one
/// event per call (`Prediction.forEachEvent`, `forEachMatchPiece`, `FuturePotential.forEachFutureEvent`). Used by `PredictionUpdateEncoder` (subscription updates) and
/// `PredictionsResponseEncoder` (GetPredictions). Fields at their proto3 default are left out, as
/// protobuf encoders do; map entries (emotives) in key order, so equal values give equal bytes.
package enum PredictionWire {
    // MARK: sizes (each includes the field's tag)

    package static func varintSize(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
    package static func tagSize(_ field: Int) -> Int { field < 16 ? 1 : 2 }
    package static func message(_ field: Int, _ length: Int) -> Int { tagSize(field) + varintSize(UInt64(length)) + length }
    package static func string(_ field: Int, _ s: String) -> Int {
        let n = s.utf8.count
        return n == 0 ? 0 : message(field, n)
    }
    package static func int64(_ field: Int, _ v: Int64) -> Int { v == 0 ? 0 : tagSize(field) + varintSize(UInt64(bitPattern: v)) }
    package static func double(_ field: Int, _ v: Double) -> Int { v.bitPattern == 0 ? 0 : tagSize(field) + 8 }
    /// An `Event` (repeated string symbols = 1): its length.
    package static func eventSize(_ symbols: [String]) -> Int {
        var n = 0
        for s in symbols { n += message(1, s.utf8.count) }  // an empty symbol is still an element
        return n
    }
    package static func events(_ field: Int, _ events: [[String]]) -> Int {
        var n = 0
        for e in events { n += message(field, eventSize(e)) }
        return n
    }
    package static func emotiveEntrySize(_ key: String, _ value: Double) -> Int { string(1, key) + double(2, value) }

    /// The nested-event fields in the order a protobuf encoder writes them (by number).
    package static let eventFieldsInOrder: [Prediction.EventsField] = [.past, .present, .future, .missing, .extras, .sequence]

    /// The proto field number of each of `Prediction`'s nested-event fields (types.proto).
    package static func fieldNumber(_ field: Prediction.EventsField) -> Int {
        switch field {
        case .past: return 6
        case .present: return 7
        case .future: return 8
        case .missing: return 9
        case .extras: return 10
        case .sequence: return 11
        }
    }

    /// Wire size of the selected symbols of one piece as repeated string `field` (tags included).
    @inline(__always)
    package static func symbolsSize(_ field: Int, _ symbols: Span<String>, _ selected: UInt64) -> Int {
        var n = 0
        var m = selected
        while m != 0 {
            n += message(field, symbols[m.trailingZeroBitCount].utf8.count)  // an empty symbol is still an element
            m &= m &- 1
        }
        return n
    }

    /// The size pass of a prediction: its length, and the length of each of its events appended to
    /// `eventSizes` (the write pass takes them back in the same order, so symbols are read once
    /// per pass, one call per event).
    package static func predictionSize(_ p: Prediction, _ eventSizes: inout [Int]) -> Int {
        var n = string(1, p.type) + string(2, p.name) + int64(3, Int64(p.frequency))
        for (k, v) in p.emotives { n += message(4, emotiveEntrySize(k, v)) }
        p.forEachMatchPiece { symbols, selected in n += symbolsSize(5, symbols, selected) }
        for field in eventFieldsInOrder {
            // A pattern's run: framed once at learn, tags (fields 6, 7, 8, 11: one byte each, as the
            // stored field 1's) and lengths included.
            if let wire = p.eventWire(field) {
                n += wire.byteCount
                continue
            }
            let number = fieldNumber(field)
            // Every event gets at least one call, in order; a long one several (same `k`).
            var current = -1, size = 0
            p.forEachEvent(in: field) { k, symbols, selected in
                if k != current {
                    if current >= 0 {
                        eventSizes.append(size)
                        n += message(number, size)
                    }
                    current = k
                    size = 0
                }
                size += symbolsSize(1, symbols, selected)
            }
            if current >= 0 {
                eventSizes.append(size)
                n += message(number, size)
            }
        }
        n += double(12, p.similarity) + double(13, p.evidence) + double(14, p.confidence) + double(15, p.fragmentation)
        n += double(16, p.snr) + double(17, p.entropy) + double(18, p.normalizedEntropy) + double(19, p.globalNormalizedEntropy)
        n += double(20, p.confluence) + double(21, p.potential) + double(22, p.predictiveInformation)
        n += double(23, p.itfdfSimilarity) + double(24, p.patternProbability) + double(25, p.weightedStrength)
        return n
    }

    /// The size pass of a future potential (event lengths appended as for a prediction).
    package static func potentialSize(_ f: FuturePotential, _ eventSizes: inout [Int]) -> Int {
        var n = 0
        if let wire = f.futureWire {
            n = wire.byteCount
        } else {
            f.forEachFutureEvent { _, symbols in
                var size = 0
                for i in symbols.indices { size += message(1, symbols[i].utf8.count) }
                eventSizes.append(size)
                n += message(1, size)
            }
        }
        return n + double(2, f.aggregatePotential) + int64(3, Int64(f.supportingPatterns))
            + double(4, f.totalWeightedFrequency)
    }

    /// A response's two repeated fields, its predictions and its future potentials, at the caller's
    /// field numbers (GetPredictionsResponse 2 and 3, PredictionUpdate 5 and 6): sized once here,
    /// written later by ``write(into:)``, so both encoders share one size pass and one write pass.
    package struct Lists {
        let predictions: [Prediction]
        let predictionField: Int
        let futurePotentials: [FuturePotential]
        let potentialField: Int
        private let predictionSizes: [Int]
        private let potentialSizes: [Int]
        /// The event lengths of the size pass, in the order the write pass takes them back.
        private let eventSizes: [Int]
        /// Bytes of both fields, tags and lengths included.
        package let size: Int

        package init(predictions: [Prediction], at predictionField: Int, futurePotentials: [FuturePotential], at potentialField: Int) {
            var eventSizes: [Int] = []
            let predictionSizes = predictions.map { PredictionWire.predictionSize($0, &eventSizes) }
            let potentialSizes = futurePotentials.map { PredictionWire.potentialSize($0, &eventSizes) }
            var size = 0
            for s in predictionSizes { size += PredictionWire.message(predictionField, s) }
            for s in potentialSizes { size += PredictionWire.message(potentialField, s) }
            (self.predictions, self.predictionField) = (predictions, predictionField)
            (self.futurePotentials, self.potentialField) = (futurePotentials, potentialField)
            (self.predictionSizes, self.potentialSizes, self.eventSizes, self.size) = (predictionSizes, potentialSizes, eventSizes, size)
        }

        package func write(into w: inout Writer) {
            w.eventSizes = eventSizes
            w.nextEventSize = 0
            for (p, s) in zip(predictions, predictionSizes) {
                w.head(predictionField, length: s)
                w.prediction(p)
            }
            for (f, s) in zip(futurePotentials, potentialSizes) {
                w.head(potentialField, length: s)
                w.potential(f)
            }
        }
    }

    // MARK: writing

    package struct Writer {
        package var bytes: [UInt8] = []

        package init(capacity: Int) { bytes.reserveCapacity(capacity) }

        package mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        package mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }
        package mutating func head(_ field: Int, length: Int) {
            tag(field, 2)
            varint(UInt64(length))
        }
        package mutating func raw(_ field: Int, _ s: String) {
            head(field, length: s.utf8.count)
            bytes.append(contentsOf: s.utf8)
        }
        package mutating func string(_ field: Int, _ s: String) { if !s.isEmpty { raw(field, s) } }
        package mutating func int64(_ field: Int, _ v: Int64) {
            guard v != 0 else { return }
            tag(field, 0)
            varint(UInt64(bitPattern: v))
        }
        package mutating func double(_ field: Int, _ v: Double) {
            guard v.bitPattern != 0 else { return }
            tag(field, 1)
            withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        package mutating func events(_ field: Int, _ events: [[String]]) {
            for e in events {
                head(field, length: PredictionWire.eventSize(e))
                for s in e { raw(1, s) }
            }
        }
        /// A pattern's run of events as repeated `Event` field `number` (< 16): the stored bytes
        /// (framed as field 1) copied, then each event's tag byte set.
        @inline(__always)
        mutating func events(_ number: Int, _ wire: EventWire) {
            let at = bytes.count
            bytes.append(contentsOf: wire.bytes)
            guard number != 1 else { return }
            let tag = UInt8(truncatingIfNeeded: number << 3 | 2)
            for i in 0..<wire.eventCount { bytes[at &+ wire.eventOffset(i)] = tag }
        }

        /// The event lengths of the size pass, and how many the write pass has used.
        var eventSizes: [Int] = []
        var nextEventSize = 0

        /// The selected symbols of one piece as repeated string `field`.
        @inline(__always)
        private mutating func symbols(_ field: Int, _ symbols: Span<String>, _ selected: UInt64) {
            var m = selected
            while m != 0 {
                raw(field, symbols[m.trailingZeroBitCount])
                m &= m &- 1
            }
        }

        /// One event's head (its length from the size pass), written before its first piece.
        @inline(__always)
        private mutating func eventHead(_ number: Int) {
            head(number, length: eventSizes[nextEventSize])
            nextEventSize += 1
        }

        package mutating func prediction(_ p: Prediction) {
            string(1, p.type)
            string(2, p.name)
            int64(3, Int64(p.frequency))
            let emotives = p.emotives
            for k in emotives.isEmpty ? [] : emotives.keys.sorted() {
                let v = emotives[k]!
                head(4, length: PredictionWire.emotiveEntrySize(k, v))
                string(1, k)
                double(2, v)
            }
            p.forEachMatchPiece { s, selected in symbols(5, s, selected) }
            for field in PredictionWire.eventFieldsInOrder {
                let number = PredictionWire.fieldNumber(field)
                if let wire = p.eventWire(field) {
                    events(number, wire)
                    continue
                }
                var current = -1
                p.forEachEvent(in: field) { k, s, selected in
                    if k != current {
                        eventHead(number)
                        current = k
                    }
                    symbols(1, s, selected)
                }
            }
            // types.proto `Prediction`, fields 12-25.
            double(12, p.similarity); double(13, p.evidence); double(14, p.confidence); double(15, p.fragmentation)
            double(16, p.snr); double(17, p.entropy); double(18, p.normalizedEntropy); double(19, p.globalNormalizedEntropy)
            double(20, p.confluence); double(21, p.potential); double(22, p.predictiveInformation)
            double(23, p.itfdfSimilarity); double(24, p.patternProbability); double(25, p.weightedStrength)
        }
        package mutating func potential(_ f: FuturePotential) {
            if let wire = f.futureWire {
                bytes.append(contentsOf: wire.bytes)  // field 1 already
            } else {
                f.forEachFutureEvent { _, s in
                    eventHead(1)
                    for i in s.indices { raw(1, s[i]) }
                }
            }
            double(2, f.aggregatePotential)
            int64(3, Int64(f.supportingPatterns))
            double(4, f.totalWeightedFrequency)
        }
    }
}
