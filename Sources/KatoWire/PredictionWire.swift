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
    package static func predictionSize(_ p: borrowing Prediction, _ eventSizes: inout [Int]) -> Int {
        var n = string(1, p.type) + string(2, p.name) + int64(3, Int64(p.frequency))
        for (k, v) in p.emotives { n += message(4, emotiveEntrySize(k, v)) }
        p.forEachMatchPiece { symbols, selected in n += symbolsSize(5, symbols, selected) }
        let wires = p.eventWires
        for field in eventFieldsInOrder {
            // A pattern's run: framed once at learn, tags (fields 6, 7, 8, 11: one byte each, as the
            // stored field 1's) and lengths included.
            if let wire = wires?[field] {
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
    package static func potentialSize(_ f: borrowing FuturePotential, _ eventSizes: inout [Int]) -> Int {
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
            // (Indices, not `map`/`zip`: each element is read in place, not copied — a prediction
            // copy retains and releases four objects.)
            var predictionSizes: [Int] = []
            predictionSizes.reserveCapacity(predictions.count)
            for i in predictions.indices { predictionSizes.append(PredictionWire.predictionSize(predictions[i], &eventSizes)) }
            var potentialSizes: [Int] = []
            potentialSizes.reserveCapacity(futurePotentials.count)
            for i in futurePotentials.indices { potentialSizes.append(PredictionWire.potentialSize(futurePotentials[i], &eventSizes)) }
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
            for i in predictions.indices {
                w.head(predictionField, length: predictionSizes[i])
                w.prediction(predictions[i])
            }
            for i in futurePotentials.indices {
                w.head(potentialField, length: potentialSizes[i])
                w.potential(futurePotentials[i])
            }
        }
    }

    // MARK: writing

    /// The message's bytes, `count` of them (the size pass's total), written by `write` straight
    /// into the array's storage (no capacity or uniqueness check per byte: a 3.5 KB update is
    /// ≈1,000 small writes). A write past `count`, or fewer bytes than `count`, stops the process:
    /// the two passes disagreeing is a bug, never a short or overlong message.
    package static func bytes(count: Int, _ write: (inout Writer) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var w = Writer(UnsafeMutableRawBufferPointer(buffer))
            write(&w)
            precondition(w.count == count, "PredictionWire: size pass and write pass disagree")
            initialized = count
        }
    }

    /// Writes into the storage ``bytes(count:_:)`` lends it, for the duration of its closure only.
    package struct Writer {
        private let base: UnsafeMutableRawPointer?
        private let capacity: Int
        /// Bytes written so far.
        package private(set) var count = 0

        fileprivate init(_ buffer: UnsafeMutableRawBufferPointer) {
            (base, capacity) = (buffer.baseAddress, buffer.count)
        }

        /// Room for `n` more bytes, or stop (see ``bytes(count:_:)``).
        @inline(__always)
        private func reserve(_ n: Int) -> UnsafeMutableRawPointer {
            precondition(n <= capacity &- count, "PredictionWire: write past the size pass's length")
            return base! + count
        }
        @inline(__always)
        private mutating func copy(_ source: UnsafeRawBufferPointer) {
            guard let from = source.baseAddress, source.count > 0 else { return }
            reserve(source.count).copyMemory(from: from, byteCount: source.count)
            count &+= source.count
        }

        @inline(__always)
        package mutating func varint(_ v: UInt64) {
            if v < 0x80 {  // most lengths and every tag here: one byte
                reserve(1).storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
                count &+= 1
            } else {
                longVarint(v)
            }
        }
        @inline(never)
        private mutating func longVarint(_ v: UInt64) {
            let to = reserve(10 < capacity &- count ? 10 : PredictionWire.varintSize(v))
            var v = v, i = 0
            while v >= 0x80 {
                to.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: i, as: UInt8.self)
                v >>= 7
                i &+= 1
            }
            to.storeBytes(of: UInt8(v), toByteOffset: i, as: UInt8.self)
            count &+= i &+ 1
        }
        /// A field's key: one byte below field 16, two up to 2047 (fields 16-25 of `Prediction`).
        @inline(__always)
        package mutating func tag(_ field: Int, _ wireType: UInt64) {
            let key = UInt64(field) << 3 | wireType
            if key < 0x80 {
                reserve(1).storeBytes(of: UInt8(truncatingIfNeeded: key), as: UInt8.self)
                count &+= 1
            } else if key < 0x4000 {
                let two = UInt16(truncatingIfNeeded: key & 0x7F | 0x80) | UInt16(truncatingIfNeeded: key >> 7) << 8
                reserve(2).storeBytes(of: two.littleEndian, as: UInt16.self)
                count &+= 2
            } else {
                longVarint(key)
            }
        }
        @inline(__always)
        package mutating func head(_ field: Int, length: Int) {
            tag(field, 2)
            varint(UInt64(length))
        }
        package mutating func raw(_ field: Int, _ s: String) {
            // The string's own UTF-8 in place (native and small strings; no copy of `s`, no retain).
            let done: Void? = s.utf8.withContiguousStorageIfAvailable { utf8 in
                head(field, length: utf8.count)
                copy(UnsafeRawBufferPointer(utf8))
            }
            if done == nil {
                head(field, length: s.utf8.count)
                for b in s.utf8 {
                    reserve(1).storeBytes(of: b, as: UInt8.self)
                    count &+= 1
                }
            }
        }
        package mutating func string(_ field: Int, _ s: String) { if !s.isEmpty { raw(field, s) } }
        package mutating func int64(_ field: Int, _ v: Int64) {
            guard v != 0 else { return }
            tag(field, 0)
            varint(UInt64(bitPattern: v))
        }
        @inline(__always)
        package mutating func double(_ field: Int, _ v: Double) {
            guard v.bitPattern != 0 else { return }
            tag(field, 1)
            reserve(8).storeBytes(of: v.bitPattern.littleEndian, as: UInt64.self)
            count &+= 8
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
            let to = reserve(wire.byteCount)
            wire.withBytes { $0.withUnsafeBytes { copy($0) } }
            guard number != 1 else { return }
            let tag = UInt8(truncatingIfNeeded: number << 3 | 2)
            for i in 0..<wire.eventCount { to.storeBytes(of: tag, toByteOffset: wire.eventOffset(i), as: UInt8.self) }
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

        package mutating func prediction(_ p: borrowing Prediction) {
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
            let wires = p.eventWires
            for field in PredictionWire.eventFieldsInOrder {
                let number = PredictionWire.fieldNumber(field)
                if let wire = wires?[field] {
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
        package mutating func potential(_ f: borrowing FuturePotential) {
            if let wire = f.futureWire {
                wire.withBytes { $0.withUnsafeBytes { copy($0) } }  // field 1 already
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
