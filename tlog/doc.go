// Package tlog is healthcode's transparency log: the byte format of a leaf,
// the stored hashes an append writes (one row per leaf, in the caller's
// database transaction), signed checkpoints in the C2SP signed-note /
// tlog-checkpoint format, inclusion and consistency proofs, citizen receipts
// in the C2SP tlog-proof format, C2SP tlog-tiles paths and entry bundles,
// witness cosigning, and the auditor's full verification.
//
// All Merkle maths (RFC 6962 hashes, stored hash indexes, tree hashes,
// proofs, tiles) is golang.org/x/mod/sumdb/tlog's; signatures are
// golang.org/x/mod/sumdb/note's. This package never writes Merkle maths of
// its own, reaches storage only through the domain's Store interfaces, uses
// the network only for the witness protocol, reads no clock of its own, and
// never puts a citizen's pseudonym into a leaf: leaves commit to it through a
// salted hash whose opening lives beside the tree and can be deleted.
package tlog
