/// A proto3 (open) enum as a Swift enum: every known value is a case, and any other value
/// survives a round trip as `UNRECOGNIZED(rawValue)`.
///
/// Generated enums conform to this protocol:
///
/// ```swift
/// let mode = Kato_V2_StmMode(rawValue: 2)   // .rolling
/// let future = Kato_V2_StmMode(rawValue: 9) // .UNRECOGNIZED(9)
/// ```
public protocol ProtoEnum: Sendable, Hashable, CaseIterable {
    /// Maps a wire value to its case (`UNRECOGNIZED` for values this build does not know).
    init(rawValue: Int32)

    /// The wire value.
    var rawValue: Int32 { get }
}
