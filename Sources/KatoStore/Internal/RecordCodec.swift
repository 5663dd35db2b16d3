import KatoEngine
import ProtoWire

/// The compact binary encoding of a pattern's events, emotive window and metadata in the
/// store's BLOB columns: LEB128 lengths, UTF-8 strings, IEEE-754 doubles (little endian);
/// dictionary keys sorted by code point so equal values encode to equal bytes.
///
/// ```
/// events    = count { count { string } }
/// emotives  = count { dict }              (the column is NULL when the window is nil)
/// dict      = count { string  f64 }
/// metadata  = count { string  count { string } }
/// string    = length  utf8-bytes
/// ```
package enum RecordCodec {
    package struct DecodingError: Error, CustomStringConvertible {
        package var description: String { "malformed record blob" }
    }

    package static func encode(events: [[String]]) -> [UInt8] {
        var w = Writer()
        w.count(events.count)
        for e in events {
            w.count(e.count)
            for s in e { w.string(s) }
        }
        return w.bytes
    }

    package static func encode(emotives window: [[String: Double]]?) -> [UInt8]? {
        guard let window else { return nil }
        var w = Writer()
        w.count(window.count)
        for d in window { w.dict(d) }
        return w.bytes
    }

    package static func encode(dict: [String: Double]) -> [UInt8] {
        var w = Writer()
        w.dict(dict)
        return w.bytes
    }

    package static func encode(metadata: [String: [String]]) -> [UInt8] {
        var w = Writer()
        w.count(metadata.count)
        for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            w.string(key)
            let values = metadata[key]!
            w.count(values.count)
            for v in values { w.string(v) }
        }
        return w.bytes
    }

    package static func decodeEvents(_ bytes: [UInt8]) throws(DecodingError) -> [[String]] {
        try bytes.withUnsafeBytes { b in Result { () throws(DecodingError) in try decodeEvents(b) } }.get()
    }

    package static func decodeEvents(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) -> [[String]] {
        var r = Reader(bytes: bytes)
        let n = try r.count()
        var events: [[String]] = []
        events.reserveCapacity(n)
        for _ in 0..<n {
            let m = try r.count()
            var e: [String] = []
            e.reserveCapacity(m)
            for _ in 0..<m { e.append(try r.string()) }
            events.append(e)
        }
        try r.finish()
        return events
    }

    /// Decodes an events blob straight into `loader` (``KnowledgeBaseLoader/addSymbol(_:)`` per
    /// symbol, ``KnowledgeBaseLoader/endEvent()`` per event): no `String` or array per pattern.
    static func decodeEvents(_ bytes: UnsafeRawBufferPointer, into loader: inout KnowledgeBaseLoader) throws(DecodingError) {
        var r = Reader(bytes: bytes)
        let n = try r.count()
        for _ in 0..<n {
            let m = try r.count()
            for _ in 0..<m { loader.addSymbol(try r.stringBytes()) }
            loader.endEvent()
        }
        try r.finish()
    }

    package static func decodeEmotives(_ bytes: [UInt8]?) throws(DecodingError) -> [[String: Double]]? {
        guard let bytes else { return nil }
        return try bytes.withUnsafeBytes { b in Result { () throws(DecodingError) in try decodeEmotives(b) } }.get()
    }

    package static func decodeEmotives(_ bytes: UnsafeRawBufferPointer?) throws(DecodingError) -> [[String: Double]]? {
        guard let bytes else { return nil }
        var r = Reader(bytes: bytes)
        let n = try r.count()
        var out: [[String: Double]] = []
        for _ in 0..<n { out.append(try r.dict()) }
        try r.finish()
        return out
    }

    package static func decodeDict(_ bytes: [UInt8]?) throws(DecodingError) -> [String: Double] {
        guard let bytes else { return [:] }
        return try bytes.withUnsafeBytes { b in Result { () throws(DecodingError) in try decodeDict(b) } }.get()
    }

    package static func decodeDict(_ bytes: UnsafeRawBufferPointer?) throws(DecodingError) -> [String: Double] {
        guard let bytes, !bytes.isEmpty else { return [:] }
        var r = Reader(bytes: bytes)
        let d = try r.dict()
        try r.finish()
        return d
    }

    package static func decodeMetadata(_ bytes: [UInt8]?) throws(DecodingError) -> [String: [String]] {
        guard let bytes else { return [:] }
        return try bytes.withUnsafeBytes { b in Result { () throws(DecodingError) in try decodeMetadata(b) } }.get()
    }

    package static func decodeMetadata(_ bytes: UnsafeRawBufferPointer?) throws(DecodingError) -> [String: [String]] {
        guard let bytes, !bytes.isEmpty else { return [:] }
        var r = Reader(bytes: bytes)
        let n = try r.count()
        if n == 0 {
            try r.finish()
            return [:]
        }
        var out: [String: [String]] = [:]
        for _ in 0..<n {
            let key = try r.string()
            let m = try r.count()
            var values: [String] = []
            for _ in 0..<m { values.append(try r.string()) }
            out[key] = values
        }
        try r.finish()
        return out
    }

    struct Writer {
        var bytes: [UInt8] = []

        mutating func count(_ n: Int) {
            Varint.encode(UInt64(n), into: &bytes)
        }

        mutating func string(_ s: String) {
            count(s.utf8.count)
            bytes.append(contentsOf: s.utf8)
        }

        mutating func double(_ d: Double) {
            var v = d.bitPattern
            for _ in 0..<8 {
                bytes.append(UInt8(v & 0xff))
                v >>= 8
            }
        }

        mutating func dict(_ d: [String: Double]) {
            count(d.count)
            for key in d.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                string(key)
                double(d[key]!)
            }
        }
    }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func count() throws(DecodingError) -> Int {
            guard let v = Varint.decode(bytes, at: &offset), v <= UInt64(bytes.count) * 8 + 64 else { throw DecodingError() }
            return Int(v)
        }

        mutating func string() throws(DecodingError) -> String {
            let n = try count()
            guard n <= bytes.count - offset else { throw DecodingError() }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]), as: UTF8.self)
            offset += n
            return s
        }

        /// A length-prefixed string's bytes, without a copy.
        mutating func stringBytes() throws(DecodingError) -> UnsafeRawBufferPointer {
            let n = try count()
            guard n <= bytes.count - offset else { throw DecodingError() }
            let b = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
            offset += n
            return b
        }

        mutating func double() throws(DecodingError) -> Double {
            guard bytes.count - offset >= 8 else { throw DecodingError() }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            return Double(bitPattern: v)
        }

        mutating func dict() throws(DecodingError) -> [String: Double] {
            let n = try count()
            var d: [String: Double] = [:]
            d.reserveCapacity(n)
            for _ in 0..<n {
                let k = try string()
                d[k] = try double()
            }
            return d
        }

        func finish() throws(DecodingError) {
            guard offset == bytes.count else { throw DecodingError() }
        }
    }
}
