package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/tlog"

	"golang.org/x/mod/sumdb/note"
)

const logUsage = `usage:
  healthcode log verify-proof --key LOGKEY PROOF
      check a citizen's receipt offline: the checkpoint's signature, the
      entry's inclusion in the signed tree, and that the receipt's opening
      opens the entry's commitments (its reason, rule, evidence…), shown
  healthcode log verify --key LOGKEY [--checkpoint FILE] (URL | DBFILE | postgres://…)
      audit a whole log: over HTTP through the checkpoint and tiles any outside
      auditor reads, or from the node's database (its SQLite file, or its
      PostgreSQL database, read in read-only transactions), where it also
      checks that every stored colour is explained by the log (invariant 1)

LOGKEY is the log's public note key (a file holding "origin+hash+base64", as
the node writes in DATA/log-signing.pub). --checkpoint is a checkpoint seen
earlier (DATA/checkpoint, or one a witness holds): the log must extend it.
Exit 0 if everything verifies, 1 with the first discrepancy named otherwise.`

func runLog(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, logUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub := args[0]
	if sub != "verify" && sub != "verify-proof" {
		fmt.Fprintf(stderr, "healthcode log: unknown subcommand %q\n\n%s\n", sub, logUsage)
		return exitUsage
	}
	fset := flag.NewFlagSet("log "+sub, flag.ContinueOnError)
	keyPath := fset.String("key", "", "file holding the log's public note key (required)")
	cpPath := fset.String("checkpoint", "", "verify: a checkpoint seen earlier that the log must extend")
	fset.Usage = func() { fmt.Fprintln(stderr, logUsage) }
	if code, ok := parseFlags(fset, args[1:], stderr); !ok {
		return code
	}
	if *keyPath == "" || fset.NArg() != 1 {
		fset.Usage()
		return exitUsage
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return fail(stderr, "log "+sub, err)
	}
	verifier, err := tlog.ParseVerifier(string(kb))
	if err != nil {
		return fail(stderr, "log "+sub, err)
	}
	origin, verifiers := verifier.Name(), note.VerifierList(verifier)
	if sub == "verify-proof" {
		b, err := os.ReadFile(fset.Arg(0))
		if err != nil {
			return fail(stderr, "log verify-proof", err)
		}
		res, err := tlog.VerifyProof(b, origin, verifiers)
		if err != nil {
			fmt.Fprintf(stderr, "INVALID: %s\n", message(err))
			return exitError
		}
		fmt.Fprintf(stdout, "VALID: entry %d of %s is in the tree of size %d signed by %s\n", res.Index, origin, res.Checkpoint.Size, origin)
		e, opened := &res.Entry.Entry, res.Opened != nil
		if opened {
			e = res.Opened
		}
		fmt.Fprintf(stdout, "  %s %s", e.Time.Format(time.RFC3339), e.Type)
		if e.Colour.Valid() {
			fmt.Fprintf(stdout, " %s", e.Colour)
		}
		if e.Reason != "" || e.RuleID != "" {
			fmt.Fprintf(stdout, " (%s, rule %s)", e.Reason, e.RuleID)
		}
		if e.ActorName != "" {
			fmt.Fprintf(stdout, " by %s (%s)", e.ActorName, e.ActorRole)
		}
		fmt.Fprintln(stdout)
		switch {
		case opened:
			fmt.Fprintf(stdout, "  opened: about %s", e.Subject)
			if e.Ref != "" {
				fmt.Fprintf(stdout, ", %s", e.Ref)
			}
			if e.EvidenceDigest != "" {
				fmt.Fprintf(stdout, ", evidence %s", e.EvidenceDigest)
			}
			if e.Note != "" {
				fmt.Fprintf(stdout, ", note %q", e.Note)
			}
			fmt.Fprintln(stdout)
		case res.Entry.Committed != 0:
			fmt.Fprintf(stdout, "  not opened: the receipt carries no opening of its %s\n", tlog.FieldNames(res.Entry.Committed))
		}
		return exitOK
	}
	var earlier *tlog.Checkpoint
	if *cpPath != "" {
		b, err := os.ReadFile(*cpPath)
		if err != nil {
			return fail(stderr, "log verify", err)
		}
		if earlier, err = tlog.OpenCheckpoint(b, origin, verifiers); err != nil {
			return fail(stderr, "log verify", fmt.Errorf("--checkpoint: %s", message(err)))
		}
	}
	target := fset.Arg(0)
	var size int64
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		size, err = verifyLogURL(ctx, strings.TrimRight(target, "/"), origin, verifiers, earlier)
	} else {
		size, err = verifyLogDB(ctx, target, origin, verifiers, earlier)
	}
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %s\n", message(err))
		return exitError
	}
	fmt.Fprintf(stdout, "OK: %d entries of %s verified against the signed checkpoint\n", size, origin)
	return exitOK
}

// verifyLogDB audits a node's database file as the node audits itself
// (tlog.AuditStore): every leaf and stored hash against the newest
// checkpoint, the tree against the earlier checkpoint, every stored decision
// against its leaf and each person's current decision against their latest
// logged one.
func verifyLogDB(ctx context.Context, path, origin string, verifiers note.Verifiers, earlier *tlog.Checkpoint) (int64, error) {
	db, err := openStoreReadOnly(ctx, path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var cp *tlog.Checkpoint
	err = db.View(ctx, func(tx healthcode.ReadTx) error {
		latest, err := tx.LatestCheckpoint(ctx)
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return healthcode.Errorfd(healthcode.ETAMPERED, "tlog.no_checkpoint", "the database holds no signed checkpoint")
		} else if err != nil {
			return err
		}
		if cp, err = tlog.OpenCheckpoint(latest.Note, origin, verifiers); err != nil {
			return fmt.Errorf("the database's newest checkpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	res, err := tlog.AuditStore(ctx, db, earlier, cp)
	if err != nil {
		return 0, err
	}
	return res.Size, res.Err()
}

// verifyLogURL audits a log over HTTP as any outsider would: the signed
// checkpoint, then every entry bundle, recomputing the tree, then every hash
// tile, compared with the one the entries give (served tiles are not
// trusted).
func verifyLogURL(ctx context.Context, base, origin string, verifiers note.Verifiers, earlier *tlog.Checkpoint) (int64, error) {
	client := hchttp.NewClient(base)
	get := func(path string) ([]byte, error) { return client.LogFile(ctx, path) }
	b, err := get("checkpoint")
	if err != nil {
		return 0, err
	}
	cp, err := tlog.OpenCheckpoint(b, origin, verifiers)
	if err != nil {
		return 0, err
	}
	var mem tlog.MemoryLog
	for n := int64(0); n*tlog.TileWidth < cp.Size; n++ {
		w := int(min(cp.Size-n*tlog.TileWidth, tlog.TileWidth))
		tp := tlog.TilePath{Entries: true, N: n, W: w}
		b, err := get(tp.String())
		if err != nil {
			return 0, err
		}
		leaves, err := tlog.ParseEntryBundle(b)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", tp, err)
		}
		if len(leaves) != w {
			return 0, fmt.Errorf("%s holds %d entries, want %d", tp, len(leaves), w)
		}
		for i, leaf := range leaves {
			if _, err := tlog.DecodeLeaf(leaf); err != nil {
				return 0, fmt.Errorf("entry %d: %w", n*tlog.TileWidth+int64(i), err)
			}
			if _, err := mem.Append(leaf); err != nil {
				return 0, err
			}
		}
	}
	root, err := mem.Root()
	if err != nil {
		return 0, err
	}
	if root != cp.Root {
		return 0, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.root_mismatch", "the entries served do not hash to the signed checkpoint's root")
	}
	// Every hash tile the log serves must be the one the entries give: a
	// proof built from a served tile is only as good as the tile.
	for _, tp := range tlog.HashTiles(cp.Size) {
		served, err := get(tp.String())
		if err != nil {
			return 0, err
		}
		want, err := tlog.ReadTile(tp.String(), cp.Size, &mem)
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(served, want) {
			return 0, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.tile_mismatch",
				"the hash tile %s served differs from the one the served entries give: a stored hash was changed", tp)
		}
	}
	if earlier != nil {
		if err := tlog.CheckStore(mem.Size(), &mem, earlier); err != nil {
			return 0, err
		}
	}
	return cp.Size, nil
}
