// The durable knowledge-base store (issue 6) lives here.
