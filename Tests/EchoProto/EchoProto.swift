// Generated Swift types for the echo test service live in Generated/.
