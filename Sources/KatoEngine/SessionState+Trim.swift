extension SessionState {
    /// Drops the oldest events so at most `count` remain: the session-level STM safety limit
    /// (KATO's `max_stm_size`, 1000 events by default), applied by the server after each change.
    public mutating func trimSTM(keepingLast count: Int) {
        if stm.count > count { stm.removeFirst(stm.count - count) }
    }
}
