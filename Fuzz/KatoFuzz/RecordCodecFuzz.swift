import KatoStore

/// The store's BLOB codec (`RecordCodec`): the first byte picks the column (events, emotive
/// window, emotive dict, metadata), the rest is the blob. A blob that decodes must re-encode to
/// bytes that decode to the same value (compared as canonical re-encodings, so NaN and
/// replaced invalid UTF-8 compare equal to themselves).
enum RecordCodecFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let selector = data.first else { return }
        let blob = UnsafeRawBufferPointer(rebasing: data.dropFirst())
        switch selector % 4 {
        case 0:
            guard let events = try? RecordCodec.decodeEvents(blob) else { return }
            let once = RecordCodec.encode(events: events)
            guard let again = try? RecordCodec.decodeEvents(once) else { preconditionFailure("events re-encoding does not decode") }
            precondition(RecordCodec.encode(events: again) == once, "events do not survive a round trip")
        case 1:
            guard let window = try? RecordCodec.decodeEmotives(blob) else { return }
            let once = RecordCodec.encode(emotives: window)
            guard let again = try? RecordCodec.decodeEmotives(once) else { preconditionFailure("emotives re-encoding does not decode") }
            precondition(RecordCodec.encode(emotives: again) == once, "emotives do not survive a round trip")
        case 2:
            guard let dict = try? RecordCodec.decodeDict(blob) else { return }
            let once = RecordCodec.encode(dict: dict)
            guard let again = try? RecordCodec.decodeDict(once) else { preconditionFailure("dict re-encoding does not decode") }
            precondition(RecordCodec.encode(dict: again) == once, "dict does not survive a round trip")
        default:
            guard let metadata = try? RecordCodec.decodeMetadata(blob) else { return }
            let once = RecordCodec.encode(metadata: metadata)
            guard let again = try? RecordCodec.decodeMetadata(once) else { preconditionFailure("metadata re-encoding does not decode") }
            precondition(RecordCodec.encode(metadata: again) == once, "metadata does not survive a round trip")
        }
    }
}
