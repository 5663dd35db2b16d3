import KatoEngine

/// The store's record encodings, for the PostgreSQL store of the same package (KatoPostgres):
/// pattern columns as in `RecordCodec`, and a knowledge-base change as one blob:
///
/// ```
/// change = 0x01 count(persistence) bytes(events) bytes(emotives dict) bytes(metadata)   (learn)
///        | 0x02                                                                          (clear)
///        | 0x03        (replaced: the node's rows were rewritten wholesale, by an import; reload them)
///        | 0x04 name                                                                     (delete; UTF-8 to the end)
/// bytes  = length  the RecordCodec encoding
/// ```
package enum ReplicationRecords {
    package struct DecodingError: Error, CustomStringConvertible {
        package var description: String
    }

    /// The record of a node replaced wholesale (``isReplaced(_:)``).
    package static let replaced: [UInt8] = [3]

    package static func isReplaced(_ bytes: [UInt8]) -> Bool { bytes == replaced }

    package static func encode(_ change: KnowledgeBaseChange) -> [UInt8] {
        var w = RecordCodec.Writer()
        switch change {
        case let .learn(events, emotives, metadata, persistence):
            w.bytes.append(1)
            w.count(persistence)
            for blob in [RecordCodec.encode(events: events), RecordCodec.encode(dict: emotives), RecordCodec.encode(metadata: metadata)] {
                w.count(blob.count)
                w.bytes.append(contentsOf: blob)
            }
        case .clear:
            w.bytes.append(2)
        case let .delete(name):
            w.bytes.append(4)
            w.bytes.append(contentsOf: name.utf8)
        }
        return w.bytes
    }

    package static func decodeChange(_ bytes: [UInt8]) throws(DecodingError) -> KnowledgeBaseChange {
        let decoded = bytes.withUnsafeBytes { b -> KnowledgeBaseChange? in
            guard let kind = b.first else { return nil }
            switch kind {
            case 2 where b.count == 1:
                return .clear
            case 4:
                return String(validating: b[1...], as: UTF8.self).map { .delete(name: $0) }
            case 1:
                var r = RecordCodec.Reader(bytes: UnsafeRawBufferPointer(rebasing: b[1...]))
                do {
                    let persistence = try r.count()
                    let events = try RecordCodec.decodeEvents(try r.stringBytes())
                    let emotives = try RecordCodec.decodeDict(try r.stringBytes())
                    let metadata = try RecordCodec.decodeMetadata(try r.stringBytes())
                    try r.finish()
                    return .learn(events: events, emotives: emotives, metadata: metadata, persistence: persistence)
                } catch {
                    return nil
                }
            default:
                return nil
            }
        }
        guard let decoded else { throw DecodingError(description: "malformed knowledge-base change record") }
        return decoded
    }

    /// The columns of a stored pattern.
    package static func columns(of pattern: Pattern) -> (events: [UInt8], emotives: [UInt8]?, metadata: [UInt8]) {
        (RecordCodec.encode(events: pattern.events), RecordCodec.encode(emotives: pattern.emotives),
         RecordCodec.encode(metadata: pattern.metadata))
    }

    /// The distinct symbols of a stored pattern's `events` column.
    package static func symbols(ofEvents bytes: [UInt8]) throws(DecodingError) -> Set<String> {
        do {
            return Set(try RecordCodec.decodeEvents(bytes).joined())
        } catch {
            throw DecodingError(description: "events: \(error)")
        }
    }

    package static func encode(emotiveSums: [String: Double]) -> [UInt8] {
        RecordCodec.encode(dict: emotiveSums)
    }

    /// Builds a knowledge base from stored rows, as the embedded store loads its own.
    package struct LoaderBuilder {
        package private(set) var loader: KnowledgeBaseLoader

        package init(expectedPatterns: Int) {
            loader = KnowledgeBaseLoader(expectedPatterns: expectedPatterns, worker: .dispatch)
        }

        /// Appends a deleted pattern's id (a tombstone), in place of the next pattern.
        package mutating func appendDeleted(id: Int64) throws(DecodingError) {
            guard id == Int64(loader.patternCount) else {
                throw DecodingError(description: "deleted pattern id \(id), expected \(loader.patternCount) (ids must be dense)")
            }
            loader.appendDeleted()
        }

        /// Appends the next pattern; ids (with the tombstones') must come dense and in order (0, 1, 2, …).
        package mutating func append(
            id: Int64, name: String, frequency: Int, events: [UInt8], emotives: [UInt8]?, metadata: [UInt8]
        ) throws(DecodingError) {
            do {
                try Array(name.utf8).withUnsafeBytes { n in
                    try events.withUnsafeBytes { e in
                        try metadata.withUnsafeBytes { m in
                            if let emotives {
                                try emotives.withUnsafeBytes {
                                    try append(id: id, name: n, frequency: frequency, events: e, emotives: $0, metadata: m)
                                }
                            } else {
                                try append(id: id, name: n, frequency: frequency, events: e, emotives: nil, metadata: m)
                            }
                        }
                    }
                }
            } catch let error as DecodingError {
                throw error
            } catch {
                throw DecodingError(description: "\(error)")
            }
        }

        /// ``append(id:name:frequency:events:emotives:metadata:)`` from the columns' bytes where
        /// they lie (a chunk of rows read in one piece): no array or `String` per pattern.
        package mutating func append(
            id: Int64, name: UnsafeRawBufferPointer, frequency: Int, events: UnsafeRawBufferPointer,
            emotives: UnsafeRawBufferPointer?, metadata: UnsafeRawBufferPointer
        ) throws(DecodingError) {
            guard id == Int64(loader.patternCount) else {
                throw DecodingError(description: "pattern \(String(decoding: name, as: UTF8.self)): id \(id), expected \(loader.patternCount) (ids must be dense)")
            }
            guard frequency >= 1 else {
                throw DecodingError(description: "pattern \(String(decoding: name, as: UTF8.self)): frequency \(frequency) < 1")
            }
            do {
                // Symbols go from the column's bytes straight into the loader (interned by their bytes).
                try RecordCodec.decodeEvents(events, into: &loader)
                let window = try RecordCodec.decodeEmotives(emotives)
                let meta = try RecordCodec.decodeMetadata(metadata)
                loader.appendPattern(name: name, frequency: frequency, emotives: window, metadata: meta)
            } catch {
                throw DecodingError(description: "pattern \(String(decoding: name, as: UTF8.self)): \(error)")
            }
        }

        package mutating func setSymbolEmotives(_ name: String, _ bytes: [UInt8]) throws(DecodingError) {
            do {
                loader.setSymbolEmotives(name, try RecordCodec.decodeDict(bytes))
            } catch {
                throw DecodingError(description: "symbol \(name): \(error)")
            }
        }

        /// The loader, or the name of a pattern stored twice.
        package consuming func finish() throws(DecodingError) -> KnowledgeBaseLoader {
            if let name = loader.duplicateName() { throw DecodingError(description: "pattern \(name) is stored twice") }
            return loader
        }
    }
}
