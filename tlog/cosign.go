package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Witness is a witness a node asks to cosign its checkpoints.
type Witness struct {
	// URL is the witness's base URL; requests go to URL + AddCheckpointPath.
	URL string
	// Verifier is the witness's public note key.
	Verifier note.Verifier
}

// CosignedPath returns the file, beside the last published checkpoint
// (Publisher.LastPath), that holds that checkpoint with the witnesses'
// cosignatures collected so far. Reader serves it in place of the store's
// copy when both carry the same checkpoint.
func CosignedPath(lastPath string) string { return lastPath + ".cosigned" }

// Witnesses collects the witnesses' cosignatures on a node's checkpoints
// (after each Publish) and keeps the checkpoint with all of them in
// CosignedPath(Publisher.LastPath). A witness that is down or refuses does
// not stop the node: Cosign reports it and asks it again next time.
type Witnesses struct {
	// Publisher is the node's log: origin, key, store and LastPath.
	Publisher *Publisher
	Witnesses []Witness
	// Timeout bounds each request to a witness; 10 seconds if zero.
	Timeout time.Duration

	mu    sync.Mutex
	sizes map[string]int64 // witness URL → size of the last checkpoint it cosigned
}

// Cosign asks every witness that has not yet cosigned checkpoint (a signed
// checkpoint of the log, normally the one Publish just returned) to cosign
// it, sending the consistency proof from the size the witness last cosigned
// (learnt from its 409 answer when unknown), verifies each cosignature with
// the witness's key, and writes the checkpoint with every cosignature
// collected to CosignedPath. It returns that note, and an error joining the
// witnesses' failures (the note is valid even then). A witness that has
// already cosigned a larger tree of this log fails with ETAMPERED (detail
// "tlog.witness_ahead"): this node's log was rolled back or forked.
func (w *Witnesses) Cosign(ctx context.Context, checkpoint []byte) ([]byte, error) {
	p := w.Publisher
	if p == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "witnesses need the node's publisher")
	}
	cp, err := OpenCheckpoint(checkpoint, p.Origin, note.VerifierList(p.Verifier))
	if err != nil {
		return nil, fmt.Errorf("tlog.Witnesses: the checkpoint to cosign: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sizes == nil {
		w.sizes = map[string]int64{}
	}
	all := []note.Verifier{p.Verifier}
	for _, wi := range w.Witnesses {
		all = append(all, wi.Verifier)
	}
	verifiers := note.VerifierList(all...)

	// What was collected before: the same checkpoint's cosignatures are kept;
	// an older one tells which size each witness has seen.
	path := CosignedPath(p.LastPath)
	var prior []byte
	if b, err := os.ReadFile(path); err == nil {
		if old, err := OpenCheckpoint(b, p.Origin, note.VerifierList(p.Verifier)); err == nil {
			for _, wi := range w.Witnesses {
				if _, known := w.sizes[wi.URL]; known {
					continue
				}
				if names, _ := Cosigners(b, note.VerifierList(wi.Verifier)); len(names) > 0 && old.Size <= cp.Size {
					w.sizes[wi.URL] = old.Size
				}
			}
			if noteText(b) == noteText(checkpoint) {
				prior = b
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tlog.Witnesses: %w", err)
	}

	type result struct {
		url  string
		note []byte
		err  error
	}
	results := make(chan result, len(w.Witnesses))
	asked := 0
	for _, wi := range w.Witnesses {
		if prior != nil {
			if names, _ := Cosigners(prior, note.VerifierList(wi.Verifier)); len(names) > 0 {
				continue
			}
		}
		asked++
		old := w.sizes[wi.URL]
		go func() {
			c, err := w.ask(ctx, wi, cp, checkpoint, old)
			results <- result{url: wi.URL, note: c, err: err}
		}()
	}
	var copies [][]byte
	if prior != nil {
		copies = append(copies, prior)
	}
	gained := false
	var errs []error
	for range asked {
		r := <-results
		if r.err != nil {
			errs = append(errs, fmt.Errorf("witness %s: %w", r.url, r.err))
			continue
		}
		w.sizes[r.url] = cp.Size
		copies = append(copies, r.note)
		gained = true
	}
	merged, err := AddCosignatures(checkpoint, verifiers, copies...)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	// Only a checkpoint some witness cosigned replaces the file: a refused
	// one (a fork) must not displace the cosignatures already collected.
	if gained && !bytes.Equal(merged, prior) {
		if err := writeFileAtomic(path, merged); err != nil {
			return nil, errors.Join(append(errs, fmt.Errorf("tlog.Witnesses: %w", err))...)
		}
	}
	return merged, errors.Join(errs...)
}

// ask obtains one witness's cosignature of cp, starting from the size it
// is believed to have cosigned last, and returns the checkpoint text with
// the witness's verified signature.
func (w *Witnesses) ask(ctx context.Context, wi Witness, cp *Checkpoint, checkpoint []byte, old int64) ([]byte, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	for attempt := 0; ; attempt++ {
		if old > cp.Size {
			return nil, healthcode.Errorfd(healthcode.ETAMPERED, "tlog.witness_ahead", "the witness has cosigned a tree of %d leaves of this log, larger than the %d being published: the log was rolled back or forked", old, cp.Size)
		}
		var proof tlog.TreeProof
		if old > 0 && old < cp.Size {
			err := w.Publisher.Store.View(ctx, func(tx healthcode.ReadTx) error {
				var err error
				proof, err = ConsistencyProof(old, cp.Size, StoreHashReader(ctx, tx))
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		sigs, err := RequestCosignature(rctx, wi.URL, old, proof, checkpoint)
		cancel()
		var conflict *WitnessSizeError
		if errors.As(err, &conflict) && attempt < 2 {
			old = conflict.Size
			continue
		} else if err != nil {
			return nil, err
		}
		cosigned := []byte(noteText(checkpoint) + "\n" + string(sigs))
		if _, err := note.Open(cosigned, note.VerifierList(wi.Verifier)); err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_cosignature", "the witness answered no valid cosignature by %s: %s", wi.Verifier.Name(), healthcode.ErrorMessage(noteError(err)))
		}
		return cosigned, nil
	}
}

// cosignedNote returns the note of the cosigned file beside the publisher's
// LastPath if it carries the same checkpoint as stored (the store's copy),
// else stored.
func cosignedNote(path string, stored []byte) []byte {
	if path == "" {
		return stored
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte("\n\n")) || noteText(b) != noteText(stored) {
		return stored
	}
	return b
}
