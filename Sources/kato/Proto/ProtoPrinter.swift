import ProtoJSON
import ProtoWire
import StrictJSON

/// Prints descriptors as proto source, the way grpcurl's `describe` does (protoprint with
/// compact output, doc comments only, sorted elements and fully-qualified type names).
struct ProtoPrinter {
    let pool: DescriptorPool
    var indentUnit = "  "

    func service(_ s: ServiceDescriptor) -> String {
        var out = comments(file: s.file, path: s.path, level: 0)
        out += "service \(s.name) {\n"
        if s.deprecated { out += indentUnit + "option deprecated = true;\n" }
        for m in s.methods.sorted(by: { $0.name < $1.name }) {
            out += comments(file: s.file, path: m.path, level: 1)
            out += indentUnit + methodLine(m, level: 1) + "\n"
        }
        return out + "}\n"
    }

    func method(_ m: MethodDescriptor, file: String) -> String {
        comments(file: file, path: m.path, level: 0) + methodLine(m, level: 0) + "\n"
    }

    /// `level`: the method's indentation (1 inside its service, 0 alone).
    private func methodLine(_ m: MethodDescriptor, level: Int) -> String {
        let input = (m.clientStreaming ? "stream " : "") + "." + m.inputType
        let output = (m.serverStreaming ? "stream " : "") + "." + m.outputType
        // Options as grpcurl prints them: in field-number order (deprecated 33, idempotency_level 34).
        var options: [String] = []
        if m.deprecated { options.append("option deprecated = true;") }
        if let name = [1: "NO_SIDE_EFFECTS", 2: "IDEMPOTENT"][m.idempotencyLevel] {
            options.append("option idempotency_level = \(name);")
        }
        guard !options.isEmpty else { return "rpc \(m.name) ( \(input) ) returns ( \(output) );" }
        let pad = String(repeating: indentUnit, count: level)
        let body = options.map { pad + indentUnit + $0 + "\n" }.joined()
        return "rpc \(m.name) ( \(input) ) returns ( \(output) ) {\n\(body)\(pad)}"
    }

    func message(_ m: MessageDescriptor, level: Int = 0) -> String {
        let pad = String(repeating: indentUnit, count: level)
        let inner = pad + indentUnit
        var out = comments(file: m.file, path: m.path, level: level)
        out += pad + "message \(m.name) {\n"
        if m.deprecated { out += inner + "option deprecated = true;\n" }
        let proto2 = pool.files[m.file]?.syntax == "proto2"

        // Fields and oneofs, by number; a oneof sits at its lowest field number.
        enum Item { case field(FieldDescriptor), oneof(Int) }
        var items: [(Int, Item)] = []
        var oneofMin: [Int: Int] = [:]
        for f in m.fields {
            if let o = f.oneofIndex, m.oneofs.indices.contains(o), !m.oneofs[o].isSynthetic {
                oneofMin[o] = min(oneofMin[o] ?? Int.max, f.number)
            } else {
                items.append((f.number, .field(f)))
            }
        }
        for (o, n) in oneofMin { items.append((n, .oneof(o))) }
        items.sort { $0.0 < $1.0 }
        for (_, item) in items {
            switch item {
            case .field(let f):
                out += comments(file: m.file, path: f.path, level: level + 1)
                out += inner + fieldLine(f, proto2: proto2, inOneof: false) + "\n"
            case .oneof(let o):
                out += comments(file: m.file, path: m.oneofs[o].path, level: level + 1)
                out += inner + "oneof \(m.oneofs[o].name) {\n"
                for f in m.fields.filter({ $0.oneofIndex == o }).sorted(by: { $0.number < $1.number }) {
                    out += comments(file: m.file, path: f.path, level: level + 2)
                    out += inner + indentUnit + fieldLine(f, proto2: proto2, inOneof: true) + "\n"
                }
                out += inner + "}\n"
            }
        }
        for name in m.nestedMessages.sorted() {
            guard let nested = pool.messages[name], !nested.isMapEntry else { continue }
            out += message(nested, level: level + 1)
        }
        for name in m.nestedEnums.sorted() {
            guard let nested = pool.enums[name] else { continue }
            out += enumeration(nested, level: level + 1)
        }
        if !m.extensionRanges.isEmpty {
            out += inner + "extensions " + ranges(m.extensionRanges.sorted { $0.start < $1.start }, endExclusive: true) + ";\n"
        }
        if !m.reservedRanges.isEmpty {
            out += inner + "reserved " + ranges(m.reservedRanges.sorted { $0.start < $1.start }, endExclusive: true) + ";\n"
        }
        if !m.reservedNames.isEmpty {
            out += inner + "reserved " + m.reservedNames.sorted().map { JSONPrinter.quote($0) }.joined(separator: ", ") + ";\n"
        }
        return out + pad + "}\n"
    }

    func enumeration(_ e: EnumDescriptor, level: Int = 0) -> String {
        let pad = String(repeating: indentUnit, count: level)
        let inner = pad + indentUnit
        var out = comments(file: e.file, path: e.path, level: level)
        out += pad + "enum \(e.name) {\n"
        if e.allowAlias { out += inner + "option allow_alias = true;\n" }
        if e.deprecated { out += inner + "option deprecated = true;\n" }
        for v in e.values.sorted(by: { ($0.number, $0.name) < ($1.number, $1.name) }) {
            out += comments(file: e.file, path: v.path, level: level + 1)
            out += inner + "\(v.name) = \(v.number)" + (v.deprecated ? " [deprecated = true]" : "") + ";\n"
        }
        if !e.reservedRanges.isEmpty {
            out += inner + "reserved " + ranges(e.reservedRanges.sorted { $0.start < $1.start }, endExclusive: false) + ";\n"
        }
        if !e.reservedNames.isEmpty {
            out += inner + "reserved " + e.reservedNames.sorted().map { JSONPrinter.quote($0) }.joined(separator: ", ") + ";\n"
        }
        return out + pad + "}\n"
    }

    /// One field declaration, e.g. `repeated .kato.v2.Event stm = 4;`.
    func fieldLine(_ f: FieldDescriptor, proto2: Bool, inOneof: Bool) -> String {
        var line = ""
        if let entry = pool.messages[f.typeName], entry.isMapEntry, f.isRepeated,
            let k = entry.field(number: 1), let v = entry.field(number: 2) {
            line = "map<\(typeReference(k)), \(typeReference(v))> \(f.name) = \(f.number)"
        } else {
            if !inOneof {
                switch f.label {
                case .repeated: line = "repeated "
                case .required: line = "required "
                case .optional: if proto2 || f.proto3Optional { line = "optional " }
                }
            }
            line += typeReference(f) + " \(f.name) = \(f.number)"
        }
        var options: [String] = []
        if let d = f.defaultValue {
            options.append("default = " + (f.type == .string ? JSONPrinter.quote(d) : f.type == .bytes ? "\"\(d)\"" : d))
        }
        if f.deprecated { options.append("deprecated = true") }
        if f.hasExplicitJSONName, f.jsonName != defaultJSONName(f.name) { options.append("json_name = \(JSONPrinter.quote(f.jsonName))") }
        if let packed = f.packed { options.append("packed = \(packed)") }
        if !options.isEmpty { line += " [" + options.joined(separator: ", ") + "]" }
        return line + ";"
    }

    private func typeReference(_ f: FieldDescriptor) -> String {
        switch f.type {
        case .message, .enumeration, .group: "." + f.typeName
        default: f.type.keyword
        }
    }

    private func ranges(_ rs: [(start: Int, end: Int)], endExclusive: Bool) -> String {
        rs.map { r in
            let end = endExclusive ? r.end - 1 : r.end
            if end == r.start { return "\(r.start)" }
            return end >= 536_870_911 || (!endExclusive && end == Int(Int32.max)) ? "\(r.start) to max" : "\(r.start) to \(end)"
        }.joined(separator: ", ")
    }

    /// The leading (doc) comment of an element as `//` lines.
    func comments(file: String, path: [Int32], level: Int) -> String {
        guard var text = pool.comments(file: file, path: path)?.leading else { return "" }
        if text.hasSuffix("\n") { text.removeLast() }
        let pad = String(repeating: indentUnit, count: level)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + "//" + $0 + "\n" }.joined()
    }
}
