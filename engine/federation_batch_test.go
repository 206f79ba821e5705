package engine_test

import (
	"runtime"
	"sync"
	"testing"

	"healthcode"
	"healthcode/engine"
)

// TestPeerQueriesGroupCommit: cross-region query entries arriving while a
// commit is under way are committed together in the next one, each at its
// own index; an entry the log refuses fails alone, the others of its commit
// are logged.
func TestPeerQueriesGroupCommit(t *testing.T) {
	e := newEnv(t, envConfig{})
	const n = 32
	// burst logs n queries: the first's commit is held until the n-1
	// others wait behind it. bad, if not -1, is a query the log refuses.
	// It returns the commits made and each query's index and error.
	burst := func(bad int) (commits [][]*healthcode.LogEntry, idx []int64, errs []error) {
		var mu sync.Mutex
		first, release := make(chan struct{}), make(chan struct{})
		e.eng.OnCommit = func(c engine.Committed) {
			mu.Lock()
			commits = append(commits, c.Entries)
			k := len(commits)
			mu.Unlock()
			if k == 1 {
				close(first)
				<-release
			}
		}
		defer func() { e.eng.OnCommit = nil }()
		idx, errs = make([]int64, n), make([]error, n)
		var wg sync.WaitGroup
		query := func(i int) {
			defer wg.Done()
			subject := e.subj[i%len(e.subj)]
			if i == bad {
				subject = "not a pseudonym"
			}
			idx[i], errs[i] = e.eng.RecordPeerQuery(e.ctx, &healthcode.PeerQuery{Peer: "370100", Asked: true, Subject: subject,
				Colour: healthcode.Red, Reason: "confirmed_case", Outcome: healthcode.PeerHonoured, LogIndex: int64(i), Time: t0})
		}
		wg.Add(1)
		go query(0)
		<-first
		for i := 1; i < n; i++ {
			wg.Add(1)
			go query(i)
		}
		for e.eng.PeerLogPending() < n-1 {
			runtime.Gosched()
		}
		close(release)
		wg.Wait()
		return commits, idx, errs
	}
	check := func(idx []int64, errs []error, before int64, bad int) {
		t.Helper()
		seen := map[int64]bool{}
		for i := range n {
			if i == bad {
				if errs[i] == nil {
					t.Fatalf("the refused entry: %d %v", idx[i], errs[i])
				}
				continue
			}
			if errs[i] != nil || idx[i] < before || seen[idx[i]] {
				t.Fatalf("query %d: index %d (log was %d), %v", i, idx[i], before, errs[i])
			}
			seen[idx[i]] = true
		}
		if got := e.logSize() - before; got != int64(len(seen)) {
			t.Fatalf("%d entries logged, want %d", got, len(seen))
		}
	}

	before := e.logSize()
	commits, idx, errs := burst(-1)
	check(idx, errs, before, -1)
	if len(commits) != 2 || len(commits[0]) != 1 || len(commits[1]) != n-1 {
		t.Fatalf("%d commits, want 2: the first, then the %d that queued behind it together", len(commits), n-1)
	}

	before = e.logSize()
	_, idx, errs = burst(n / 2)
	check(idx, errs, before, n/2)
}
