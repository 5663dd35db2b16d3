// Generated Swift types for kato.v2 live in Generated/ (scripts/gen-proto).
