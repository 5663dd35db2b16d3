// `import GRPCH2` keeps giving everything it gave before the split: the transport-free core
// (status, metadata, context, router, interceptors, typed handlers, health, reflection)
// lives in GRPCH2Core and is re-exported here. See docs/ARCHITECTURE.md, "API promise".
@_exported import GRPCH2Core
