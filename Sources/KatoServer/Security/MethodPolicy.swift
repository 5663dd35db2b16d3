/// The least role each method needs (checked before the handler runs; the handler then checks
/// the session's node and owner). Unknown kato methods (an admin service) need `admin`;
/// other services that are not open (health, reflection when closed) need `reader`.
enum MethodPolicy {
    static func requiredRole(service: Substring, method: Substring) -> Role {
        switch service {
        case "kato.v2.SessionService":
            method == "GetSession" || method == "CountSessions" ? .reader : .writer
        case "kato.v2.ObserveService":
            switch method {
            case "GetShortTermMemory": .reader
            case "ClearAllMemory": .admin
            default: .writer
            }
        case "kato.v2.KnowledgeBaseService":
            method == "DeletePattern" || method == "DeleteKnowledgeBase" ? .admin : .reader
        case "kato.v2.PredictService":
            .reader
        default:
            service.hasPrefix("kato.") ? .admin : .reader
        }
    }
}
