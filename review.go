package healthcode

import "context"

// ReviewReadTx reads what the re-evaluation after a rule-set publication
// walks: everyone who has evidence, not only those who hold a decision. A
// person whose evidence gave the default under the old rule set holds no
// stored decision, yet the new one may give them another colour.
type ReviewReadTx interface {
	// EvidenceSubjects returns up to limit pseudonyms greater than after,
	// in order, of the people who have evidence.
	EvidenceSubjects(ctx context.Context, after string, limit int) ([]string, error)
	// ReviewSweep returns the rule set version whose sweep over everyone
	// with evidence is under way, and the last pseudonym it has
	// re-evaluated ("" before the first). version is "" if none is under
	// way.
	ReviewSweep(ctx context.Context) (version, after string, err error)
}

// ReviewTx records how far the sweep has come, in the transaction of the
// decisions it made.
type ReviewTx interface {
	// SetReviewSweep records the sweep of version up to after; a version of
	// "" ends it.
	SetReviewSweep(ctx context.Context, version, after string) error
}
