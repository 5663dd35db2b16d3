// The `kato` CLI (grpcurl-style inspection + domain commands) is being built; see issue 7.
print("kato: not implemented yet")
