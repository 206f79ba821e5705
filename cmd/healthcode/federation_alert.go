package main

import (
	"context"

	"healthcode/federation"
)

// peerRefusedAlert is told by the federation client of each restrictive
// colour of another region this node did not propagate. The refusal is
// already in this region's log (refused.*, with the peer's log entry and
// the officials it names in the note); an oversight pass run at once turns
// it into an alert (detector peer_refused) before the query's answer goes
// back, so the checkpoint's answer and the auditors' alert arrive together.
// Should the pass fail, the next scheduled one raises it from the log.
func (n *node) peerRefusedAlert(ctx context.Context, st *federation.Status) {
	n.logger.Error("ALERT federation: another region's restrictive colour rests on no accepted reason; not propagated",
		"peer", st.Issuer.Code, "outcome", st.Outcome, "peer_log_index", st.LogIndex)
	if n.oversight == nil {
		return
	}
	if _, err := n.oversight.Pass(context.WithoutCancel(ctx)); err != nil {
		n.logger.Error("oversight pass after a refused peer colour failed; the next pass raises its alert", "err", err)
	}
}
