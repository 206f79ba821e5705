package engine

// PeerLogPending is how many cross-region query entries wait for a commit
// (for the group-commit test).
func (e *Engine) PeerLogPending() int {
	e.peerLog.mu.Lock()
	defer e.peerLog.mu.Unlock()
	return len(e.peerLog.pending)
}
