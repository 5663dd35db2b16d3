/// What the candidate scoring reads of a pattern besides its packed buffer, 32 bytes per pattern in
/// a table indexed by id (``KnowledgeState/summaries``), so that the length test and the scoring's
/// passes never load the ``PatternShape`` object itself.
///
/// Why (issue 15, fourteenth pass): perf put ≈20 % of `scoreRange`'s own samples and most of
/// `lengthFiltered`'s on the first loads of each candidate's shape fields (`textLength`, `length`,
/// `eventCount`, `nameKey`, the `packed` pointer) — two lines of a heap object per candidate, ≈1,400
/// candidates per 10,000-pattern query, each shape elsewhere in memory. Here they are one 32-byte
/// record in an array the candidates are read from in id order (two patterns a cache line).
///
/// `packed` points into the buffer of the shape at the same id in the same ``KnowledgeState``: it is
/// valid exactly as long as that shape is, which the state guarantees by writing both tables together
/// (`insertShape`, `delete`, the loader's restore: ``KnowledgeState/summaries``), and the scoring only
/// reads it while its snapshot holds the shapes. Hence `@unchecked Sendable`: the pointer is to
/// immutable memory owned by a `Sendable` object the same value holds.
struct PatternSummary: @unchecked Sendable, Equatable {
    let packed: UnsafeRawPointer
    let textLength: Int32
    let length: Int32
    let eventCount: Int32
    let isASCII: Bool
    let nameKey: UInt64

    init(_ shape: PatternShape) {
        packed = shape.packedBase
        textLength = Int32(shape.textLength)
        length = Int32(shape.length)
        eventCount = Int32(shape.eventCount)
        isASCII = shape.isASCII
        nameKey = shape.nameKey
    }

    /// The shape's ``PatternShape/packedView``, from these fields alone.
    @inline(__always)
    var packedView: PatternShape.PackedView {
        PatternShape.packedView(
            base: packed, textLength: Int(textLength), isASCII: isASCII, eventCount: Int(eventCount), length: Int(length))
    }
}
