package engine_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"healthcode"
	"healthcode/tlog"
)

// publishWatch is the node's real store, telling when the publisher it
// serves asks for the write lock.
type publishWatch struct {
	healthcode.Store
	writing chan struct{}
}

func (w *publishWatch) Update(ctx context.Context, fn func(healthcode.Tx) error) error {
	select {
	case w.writing <- struct{}{}:
	default:
	}
	return w.Store.Update(ctx, fn)
}

// TestPublishWhileTheEngineWrites: a checkpoint published while a write
// transaction is open (an appeal, a result) waits for it; the engine's
// question inside that transaction — does the log vouch for this person? —
// is answered at once, not after the publisher, which waits for the
// transaction: that was a deadlock that froze a node under load.
func TestPublishWhileTheEngineWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	skey, vkey, err := tlog.GenerateKey(rand.Reader, "healthcode.test/410100")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tlog.ParseSigner(skey)
	verifier, _ := tlog.ParseVerifier(vkey)
	watch := &publishWatch{Store: e.db, writing: make(chan struct{}, 1)}
	pub := &tlog.Publisher{Origin: "healthcode.test/410100", Signer: signer, Verifier: verifier, Store: watch,
		LastPath: filepath.Join(t.TempDir(), "checkpoint"), Clock: e.clock}
	published := make(chan error, 1)
	err = e.db.Update(e.ctx, func(tx healthcode.Tx) error {
		go func() { _, err := pub.Publish(context.Background(), e.clock.Now()); published <- err }()
		select {
		case <-watch.writing: // Publish holds its lock and waits for ours
		case err := <-published:
			t.Fatalf("Publish did not wait for the open transaction: %v", err)
		}
		answered := make(chan error, 1)
		go func() { answered <- pub.SubjectProblem(e.subj[0]) }()
		select {
		case err := <-answered:
			if err != nil {
				t.Errorf("SubjectProblem: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("SubjectProblem waits for Publish, which waits for this transaction: deadlock")
			return healthcode.Errorfd(healthcode.EINTERNAL, "test.deadlock", "deadlock")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-published; err != nil {
		t.Fatalf("Publish after the transaction: %v", err)
	}
}
