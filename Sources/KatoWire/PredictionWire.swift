import KatoEngine

/// The protobuf wire form of `kato.v2.Prediction`, `FuturePotential` and `Event`, written straight
/// from the engine's values, so no string array is built for a compact prediction and no proto
/// struct or protobuf-c struct is filled. A computed prediction's pattern fields (`past`,
/// `present`, `future`, `sequence`) and a future potential's `future` are copied from the bytes
/// the pattern keeps in wire form (`Prediction.eventWires`, `FuturePotential.futureWire`: one copy
/// and a tag byte per event); the selections (`matches`, `missing`, `extras`) and explicit fields
/// are written per symbol from the pattern's and the STM's own strings, read one event per call
/// (`Prediction.forEachEvent`, `forEachMatchPiece`, `FuturePotential.forEachFutureEvent`). Used by
/// `PredictionUpdateEncoder` (subscription updates) and `PredictionsResponseEncoder`
/// (GetPredictions). Fields at their proto3 default are left out, as protobuf encoders do; map
/// entries (emotives) in key order, so equal values give equal bytes.
///
/// One pass (issue 15, second wire pass): a nested message's length is written after its body —
/// room for the usual length is left before the body and the body moved when its length needs
/// more or fewer bytes (a prediction's 2, an event's 1) — instead of a size pass that read every
/// symbol a first time; the varint is the shortest, so the bytes are protobuf-c's.
package enum PredictionWire {
    package static func varintSize(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

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

    /// A first guess at a response's bytes (the writer grows past it when it is short).
    package static func estimate(predictions: Int, futurePotentials: Int) -> Int {
        256 &+ predictions &* 560 &+ futurePotentials &* 80
    }

    /// The message's bytes, written by `write` straight into the result's storage, `capacity`
    /// bytes to start with (the caller's guess: ``estimate(predictions:futurePotentials:)``). When
    /// that is short the writer moves to a buffer of its own that grows, and the result is copied
    /// out of it once at the end.
    package static func bytes(capacity: Int, _ write: (inout Writer) -> Void) -> [UInt8] {
        var spilled: Writer?
        let direct = [UInt8](unsafeUninitializedCapacity: Swift.max(capacity, 64)) { buffer, initialized in
            var w = Writer(lending: UnsafeMutableRawBufferPointer(buffer))
            write(&w)
            if w.ownsStorage {
                spilled = w
                initialized = 0
            } else {
                initialized = w.count
                w.deallocate()  // the STM table only: the storage is the result's
            }
        }
        guard var w = spilled else { return direct }
        defer { w.deallocate() }
        return [UInt8](unsafeUninitializedCapacity: w.count) { buffer, initialized in
            w.copyOut(to: UnsafeMutableRawBufferPointer(buffer))
            initialized = w.count
        }
    }

    /// Writes into the storage ``bytes(capacity:_:)`` lends it, or, once that is full, into a
    /// buffer of its own (freed by `bytes`); lent `inout`, never copied out of its closure.
    package struct Writer {
        private(set) var base: UnsafeMutableRawPointer
        private var capacity: Int
        /// Bytes written so far.
        package internal(set) var count = 0
        /// Whether `base` is the writer's own allocation (the lent storage was too small).
        fileprivate private(set) var ownsStorage = false
        /// The STM of the last computed prediction written, each symbol framed as string field 1
        /// (`PredictionWire+Compact.swift`): built once per list, copied per selected symbol.
        var stm = STMWire()

        fileprivate init(lending buffer: UnsafeMutableRawBufferPointer) {
            (base, capacity) = (buffer.baseAddress!, buffer.count)
        }
        fileprivate mutating func deallocate() {
            if ownsStorage { base.deallocate() }
            stm.free()
        }
        fileprivate func copyOut(to buffer: UnsafeMutableRawBufferPointer) {
            if count > 0 { buffer.baseAddress!.copyMemory(from: base, byteCount: count) }
        }

        /// Room for `n` more bytes (growing the buffer when short); where they start.
        @inline(__always)
        mutating func reserve(_ n: Int) -> UnsafeMutableRawPointer {
            if _slowPath(n > capacity &- count) { grow(n) }
            return base + count
        }
        @inline(never)
        private mutating func grow(_ n: Int) {
            var c = capacity &* 2
            while c &- count < n { c &*= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
            bigger.copyMemory(from: base, byteCount: count)
            if ownsStorage { base.deallocate() }
            (base, capacity, ownsStorage) = (bigger, c, true)
        }
        @inline(__always)
        mutating func copy(_ source: UnsafeRawBufferPointer) {
            guard let from = source.baseAddress, source.count > 0 else { return }
            Self.copyBytes(reserve(source.count), from, source.count)
            count &+= source.count
        }
        /// `n` bytes; most framed symbols are 4 to 16 bytes: two overlapping loads and stores
        /// instead of a call to `memmove`.
        @inline(__always)
        static func copyBytes(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer, _ n: Int) {
            if n >= 8 && n <= 16 {
                to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
                (to + (n &- 8)).storeBytes(of: (from + (n &- 8)).loadUnaligned(as: UInt64.self), as: UInt64.self)
            } else if n >= 4 && n < 8 {
                to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
                (to + (n &- 4)).storeBytes(of: (from + (n &- 4)).loadUnaligned(as: UInt32.self), as: UInt32.self)
            } else if n > 16 {
                to.copyMemory(from: from, byteCount: n)
            } else {
                for i in 0..<n { to.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
            }
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
            let n = PredictionWire.varintSize(v)
            _ = reserve(n)
            Self.storeVarint(v, base + count)
            count &+= n
        }
        @inline(__always)
        private static func storeVarint(_ v: UInt64, _ to: UnsafeMutableRawPointer) {
            var v = v, i = 0
            while v >= 0x80 {
                to.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: i, as: UInt8.self)
                v >>= 7
                i &+= 1
            }
            to.storeBytes(of: UInt8(v), toByteOffset: i, as: UInt8.self)
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

        /// Opens a length-delimited field whose length is not known yet: its tag, then `reserved`
        /// bytes for the length. Returns where the body starts, for ``end(_:reserved:)``.
        @inline(__always)
        package mutating func begin(_ field: Int, reserved: Int) -> Int {
            tag(field, 2)
            _ = reserve(reserved)
            count &+= reserved
            return count
        }
        /// Closes the field ``begin(_:reserved:)`` opened: its length written in the room left,
        /// the body moved first when the length's varint is not `reserved` bytes long.
        @inline(__always)
        package mutating func end(_ start: Int, reserved: Int) {
            let length = count &- start
            let fits = reserved == 1 ? length < 0x80 : length >= 0x80 && length < 0x4000
            if _fastPath(fits) {
                if reserved == 1 {
                    (base + (start &- 1)).storeBytes(of: UInt8(truncatingIfNeeded: length), as: UInt8.self)
                } else {
                    let two = UInt16(truncatingIfNeeded: length & 0x7F | 0x80) | UInt16(truncatingIfNeeded: length >> 7) << 8
                    (base + (start &- 2)).storeBytes(of: two.littleEndian, as: UInt16.self)
                }
            } else {
                resizeLength(start, reserved: reserved)
            }
        }
        @inline(never)
        private mutating func resizeLength(_ start: Int, reserved: Int) {
            let length = count &- start
            let needed = PredictionWire.varintSize(UInt64(length))
            if needed > reserved { _ = reserve(needed &- reserved) }
            let body = base + start
            (body + (needed &- reserved)).copyMemory(from: body, byteCount: length)  // memmove
            count &+= needed &- reserved
            Self.storeVarint(UInt64(length), body - reserved)
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
        /// Explicit events (a session's STM) as repeated `Event` `field`.
        package mutating func events(_ field: Int, _ events: [[String]]) {
            for e in events {
                let start = begin(field, reserved: 1)
                for s in e { raw(1, s) }
                end(start, reserved: 1)
            }
        }
        /// A pattern's run of events as repeated `Event` field `number` (< 16): the stored bytes
        /// (framed as field 1) copied, then each event's tag byte set.
        @inline(__always)
        mutating func events(_ number: Int, _ wire: EventWire) {
            let at = count
            wire.withUnsafeBytes { copy($0) }
            guard number != 1 else { return }
            let tag = UInt8(truncatingIfNeeded: number << 3 | 2)
            let to = base + at
            for i in 0..<wire.eventCount { to.storeBytes(of: tag, toByteOffset: wire.eventOffset(i), as: UInt8.self) }
        }

        /// The selected symbols of one piece as repeated string `field`.
        @inline(__always)
        private mutating func symbols(_ field: Int, _ symbols: Span<String>, _ selected: UInt64) {
            var m = selected
            while m != 0 {
                raw(field, symbols[m.trailingZeroBitCount])
                m &= m &- 1
            }
        }

        /// A response's two repeated fields, its predictions and its future potentials, at the
        /// caller's field numbers (GetPredictionsResponse 2 and 3, PredictionUpdate 5 and 6).
        package mutating func lists(_ predictions: [Prediction], at predictionField: Int,
                                    _ futurePotentials: FuturePotentials, at potentialField: Int) {
            // (Indices, not `for in`: a prediction copy retains and releases its batch — one object
            // since the twelfth pass, four before. The caller still copies each prediction it passes
            // on, through `array[i]`, `span[i]` and a buffer pointer alike.)
            // Each prediction's pattern bytes asked for two predictions ahead (cold lines, as below).
            let predictionCount = predictions.count
            for i in 0..<Swift.min(2, predictionCount) { predictions.prefetchWire(at: i) }
            predictions.withUnsafeBufferPointer { list in
                for i in 0..<predictionCount {
                    if i &+ 2 < predictionCount { predictions.prefetchWire(at: i &+ 2) }
                    if let view = predictions.wireView(at: i) {
                        prediction(predictionField, view, list, i)
                    } else {
                        prediction(predictionField, list[i])
                    }
                }
            }
            // A future potential is read in place (``FuturePotentialReader``: no value built, nothing
            // retained); its future's bytes are in ≈1,065 patterns' storage at 10,000, lines the query
            // never read: asked for `ahead` potentials before they are read, so that the misses overlap.
            // The pattern objects that locate those bytes are asked for twice as far ahead.
            // (One engine call per potential: ``FuturePotentialReader/forEachWire(ahead:_:)``.)
            futurePotentials.withReader { list in
                list.forEachWire(ahead: 8) { i, future, numbers in potential(potentialField, list, i, future, numbers) }
            }
        }

        /// A computed prediction (``PredictionWireView``: read in place, nothing copied or retained);
        /// `list[i]` is the same prediction, for what the view does not carry (the STM's strings once
        /// per list, emotives when its pattern has an emotive window, the doubles: stored fields).
        @inline(__always)
        mutating func prediction(_ field: Int, _ v: PredictionWireView, _ list: UnsafeBufferPointer<Prediction>, _ i: Int) {
            let start = begin(field, reserved: 2)  // most predictions: 128 bytes to 16 KB
            if v.bits.stm != stm.id { _ = list[i].withSTM { stm.load(v.bits.stm, $0, $1) } }  // once per list
            compactHead(v.head.name, v.frequency)
            if v.head.hasEmotives { emotives(list[i].emotives) }
            compactFields(v)
            doubles(list, i)
            end(start, reserved: 2)
        }

        /// A prediction with fields set explicitly (or not computed), read field by field.
        package mutating func prediction(_ field: Int, _ p: borrowing Prediction) {
            let start = begin(field, reserved: 2)
            string(1, p.type)
            string(2, p.name)
            int64(3, Int64(p.frequency))
            emotives(p.emotives)
            explicitFields(p)
            doubles(p)
            end(start, reserved: 2)
        }

        /// Fields 1-3 of a computed prediction: `type` (always "prototypical": a constant), `name`
        /// (the pattern's bytes, framed: ``PredictionHeadWire/name``), `frequency`.
        @inline(__always)
        private mutating func compactHead(_ name: UnsafeRawBufferPointer, _ frequency: Int) {
            // 0x0A 0x0C "prototypical": two overlapping little-endian words (bytes 0-7 and 6-13).
            let to = reserve(14)
            to.storeBytes(of: UInt64(0x746f_746f_7270_0c0a).littleEndian, as: UInt64.self)
            (to + 6).storeBytes(of: UInt64(0x6c61_6369_7079_746f).littleEndian, as: UInt64.self)
            count &+= 14
            copy(name)
            if frequency != 0 {
                tag(3, 0)
                varint(UInt64(bitPattern: Int64(frequency)))
            }
        }

        /// Field 4, `emotives`: map entries in key order.
        @inline(__always)
        private mutating func emotives(_ emotives: [String: Double]) {
            guard !emotives.isEmpty else { return }
            for k in emotives.keys.sorted() {
                let entry = begin(4, reserved: 1)
                string(1, k)
                double(2, emotives[k]!)
                end(entry, reserved: 1)
            }
        }

        /// types.proto `Prediction`'s fields 12-25 (doubles, left out when 0) in one reservation:
        /// at most 4 × 9 + 10 × 10 bytes.
        @inline(__always)
        private mutating func doubles(_ list: UnsafeBufferPointer<Prediction>, _ i: Int) {
            let p = list.baseAddress! + i  // stored fields loaded in place (no copy of the prediction)
            doubles(p.pointer(to: \.similarity)!.pointee, p.pointer(to: \.evidence)!.pointee, p.pointer(to: \.confidence)!.pointee,
                    p.pointer(to: \.fragmentation)!.pointee, p.pointer(to: \.snr)!.pointee, p.pointer(to: \.entropy)!.pointee,
                    p.pointer(to: \.normalizedEntropy)!.pointee, p.pointer(to: \.globalNormalizedEntropy)!.pointee,
                    p.pointer(to: \.confluence)!.pointee, p.pointer(to: \.potential)!.pointee,
                    p.pointer(to: \.predictiveInformation)!.pointee, p.pointer(to: \.itfdfSimilarity)!.pointee,
                    p.pointer(to: \.patternProbability)!.pointee, p.pointer(to: \.weightedStrength)!.pointee)
        }
        @inline(__always)
        private mutating func doubles(_ p: borrowing Prediction) {
            doubles(p.similarity, p.evidence, p.confidence, p.fragmentation, p.snr, p.entropy, p.normalizedEntropy,
                    p.globalNormalizedEntropy, p.confluence, p.potential, p.predictiveInformation, p.itfdfSimilarity,
                    p.patternProbability, p.weightedStrength)
        }
        @inline(__always)
        private mutating func doubles(_ similarity: Double, _ evidence: Double, _ confidence: Double, _ fragmentation: Double,
                                      _ snr: Double, _ entropy: Double, _ normalizedEntropy: Double,
                                      _ globalNormalizedEntropy: Double, _ confluence: Double, _ potential: Double,
                                      _ predictiveInformation: Double, _ itfdfSimilarity: Double,
                                      _ patternProbability: Double, _ weightedStrength: Double) {
            let start = reserve(136)
            var to = start
            // `key`: the field's key as a varint, little-endian (1 byte below field 16, 2 from it);
            // its second byte, when it has one byte, is overwritten by the value.
            // Stored whether or not 0 (no branch per value): a 0 is overwritten by the next field.
            @inline(__always) func put(_ key: UInt16, _ keyBytes: Int, _ v: Double) {
                to.storeBytes(of: key.littleEndian, as: UInt16.self)
                (to + keyBytes).storeBytes(of: v.bitPattern.littleEndian, as: UInt64.self)
                to += v.bitPattern != 0 ? keyBytes &+ 8 : 0
            }
            @inline(__always) func key(_ field: UInt16) -> UInt16 {
                let k = field << 3 | 1
                return k < 0x80 ? k : (k & 0x7F | 0x80) | (k >> 7) << 8
            }
            put(key(12), 1, similarity); put(key(13), 1, evidence); put(key(14), 1, confidence)
            put(key(15), 1, fragmentation); put(key(16), 2, snr); put(key(17), 2, entropy)
            put(key(18), 2, normalizedEntropy); put(key(19), 2, globalNormalizedEntropy)
            put(key(20), 2, confluence); put(key(21), 2, potential)
            put(key(22), 2, predictiveInformation); put(key(23), 2, itfdfSimilarity)
            put(key(24), 2, patternProbability); put(key(25), 2, weightedStrength)
            count &+= to - start
        }

        /// Fields 5-11 of a prediction with fields set explicitly, read per symbol.
        private mutating func explicitFields(_ p: borrowing Prediction) {
            p.forEachMatchPiece { s, selected in symbols(5, s, selected) }
            let wires = p.eventWires
            for field in PredictionWire.eventFieldsInOrder {
                let number = PredictionWire.fieldNumber(field)
                if let wire = wires?[field] {
                    events(number, wire)
                    continue
                }
                // Every event gets at least one call, in order; a long one several (same `k`).
                var current = -1, event = 0
                p.forEachEvent(in: field) { k, s, selected in
                    if k != current {
                        if current >= 0 { end(event, reserved: 1) }
                        event = begin(number, reserved: 1)
                        current = k
                    }
                    symbols(1, s, selected)
                }
                if current >= 0 { end(event, reserved: 1) }
            }
        }

        /// `list[i]`: its future's bytes (``FuturePotentials/futureWireBytes(at:)``) and numbers read
        /// in place, no value built.
        @inline(__always)
        mutating func potential(_ field: Int, _ list: FuturePotentialReader, _ i: Int, _ future: UnsafeRawBufferPointer?,
                                _ f: (aggregatePotential: Double, supportingPatterns: Int, totalWeightedFrequency: Double)) {
            let start: Int
            var to: UnsafeMutableRawPointer
            if let future {
                // One reservation for the whole message: its key (`field` < 16), its length's
                // byte, the future's bytes (field 1 already: the pattern's, in place), fields 2-4.
                let n = future.count
                to = reserve(2 &+ n &+ 29)
                to.storeBytes(of: UInt8(truncatingIfNeeded: field << 3 | 2), as: UInt8.self)
                start = count &+ 2
                if n > 0 { (to + 2).copyMemory(from: future.baseAddress!, byteCount: n) }
                to += 2 &+ n
            } else {
                start = begin(field, reserved: 1)
                list.forEachFutureEvent(at: i) { _, s in
                    let event = begin(1, reserved: 1)
                    for i in s.indices { raw(1, s[i]) }
                    end(event, reserved: 1)
                }
                to = reserve(29)
            }
            // Fields 2-4 (9 + 11 + 9 bytes at most), each 0 left out without a branch (stored,
            // then overwritten by the next), as in ``doubles(_:)``.
            let aggregate = f.aggregatePotential.bitPattern, total = f.totalWeightedFrequency.bitPattern
            to.storeBytes(of: 2 << 3 | 1, as: UInt8.self)
            (to + 1).storeBytes(of: aggregate.littleEndian, as: UInt64.self)
            to += aggregate != 0 ? 9 : 0
            let supporting = UInt64(bitPattern: Int64(f.supportingPatterns))
            if supporting != 0 {
                to.storeBytes(of: 3 << 3 | 0, as: UInt8.self)
                to += 1
                if supporting < 0x80 {
                    to.storeBytes(of: UInt8(truncatingIfNeeded: supporting), as: UInt8.self)
                    to += 1
                } else {
                    Self.storeVarint(supporting, to)
                    to += PredictionWire.varintSize(supporting)
                }
            }
            to.storeBytes(of: 4 << 3 | 1, as: UInt8.self)
            (to + 1).storeBytes(of: total.littleEndian, as: UInt64.self)
            to += total != 0 ? 9 : 0
            count = to - base
            end(start, reserved: 1)
        }
    }
}
