/// Patterns of one chunk, as flat buffers (one allocation per field for the whole chunk).
struct ShapeChunk: Sendable {
    var index: Int
    var firstID: Int32
    var flat: [Int32] = []
    var symbols: [String] = []
    var eventSizes: [Int32] = []
    var patternFlatEnds: [Int32] = []
    var patternEventEnds: [Int32] = []
    var names: [UInt8] = []
    var nameEnds: [Int32] = []

    var count: Int { patternFlatEnds.count }

    mutating func reserve() {
        let n = KnowledgeBaseLoader.chunkSize
        patternFlatEnds.reserveCapacity(n)
        patternEventEnds.reserveCapacity(n)
        nameEnds.reserveCapacity(n)
        names.reserveCapacity(40 * n)
    }

    /// The name hashes of the chunk's patterns, in id order.
    func nameHashes() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        names.withUnsafeBytes { bytes in
            var start = 0
            for end in nameEnds {
                out.append(PatternNameIndex.hash(utf8: UnsafeRawBufferPointer(rebasing: bytes[start..<Int(end)])))
                start = Int(end)
            }
        }
        return out
    }

    /// The chunk's pattern shapes, in id order.
    func buildShapes() -> [PatternShape] {
        var shapes: [PatternShape] = []
        shapes.reserveCapacity(count)
        buildShapes { shapes.append($0) }
        return shapes
    }

    /// Initializes `count` shapes at `target` (uninitialized memory), in id order.
    func buildShapes(into target: UnsafeMutablePointer<PatternShape>) {
        var p = target
        buildShapes { shape in
            p.initialize(to: shape)
            p += 1
        }
    }

    private func buildShapes(_ emit: (PatternShape) -> Void) {
        var flatStart = 0, eventStart = 0, nameStart = 0
        var previousEnds: [Int] = []
        names.withUnsafeBufferPointer { nameBytes in
            for p in 0..<count {
                let flatEnd = Int(patternFlatEnds[p]), eventEnd = Int(patternEventEnds[p]), nameEnd = Int(nameEnds[p])
                // Patterns with the same event sizes share one `eventEnds` array.
                var same = previousEnds.count == eventEnd - eventStart
                var end = 0
                if same {
                    for (k, e) in (eventStart..<eventEnd).enumerated() {
                        end += Int(eventSizes[e])
                        if previousEnds[k] != end { same = false; break }
                    }
                }
                let ends: [Int]
                if same {
                    ends = previousEnds
                } else {
                    var fresh: [Int] = []
                    fresh.reserveCapacity(eventEnd - eventStart)
                    end = 0
                    for e in eventStart..<eventEnd {
                        end += Int(eventSizes[e])
                        fresh.append(end)
                    }
                    ends = fresh
                    previousEnds = fresh
                }
                var patternSymbols: [String] = []
                patternSymbols.reserveCapacity(flatEnd - flatStart)
                for i in flatStart..<flatEnd { patternSymbols.append(symbols[i]) }
                var ids: [Int32] = []
                ids.reserveCapacity(flatEnd - flatStart)
                for i in flatStart..<flatEnd { ids.append(flat[i]) }
                let name = String(decoding: UnsafeBufferPointer(rebasing: nameBytes[nameStart..<nameEnd]), as: UTF8.self)
                emit(PatternShape(name: name, symbols: patternSymbols, eventEnds: ends, flatIds: ids))
                flatStart = flatEnd
                eventStart = eventEnd
                nameStart = nameEnd
            }
        }
    }
}
