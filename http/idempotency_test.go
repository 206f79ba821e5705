package http

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"healthcode"
)

// TestIdempotencyKey: a lab's submission sent again under its key answers as
// the first time (201, the same evidence), not as a duplicate, and logs
// nothing more; the key with other items is 409; without a key a repeat is
// a duplicate (200).
func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	lab := f.tokens[healthcode.RoleLab]
	for _, tube := range []string{"K-1", "K-2"} {
		f.collect(t, f.id, tube, t0.Add(-time.Hour))
	}
	send := func(key string, body []byte) answer {
		req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/evidence", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+lab)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return answer{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
	}
	one := mustJSON(t, EvidenceJSON{Kind: "nucleic_acid_test", Tube: "K-1", Result: "negative"})
	first := send("chunk-1", one)
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	size := f.logSize(t)
	again := send("chunk-1", one)
	if again.status != 201 || !bytes.Equal(again.body, first.body) {
		t.Fatalf("the same key again: %d %s, want the first answer %s", again.status, again.body, first.body)
	}
	if f.logSize(t) != size {
		t.Fatal("a replayed submission logged something")
	}
	other := send("chunk-1", mustJSON(t, EvidenceJSON{Kind: "nucleic_acid_test", Tube: "K-2", Result: "negative"}))
	if other.status != 409 || other.problem(t).Reason != "submit.key_reused" {
		t.Fatalf("the key with other items: %d %s", other.status, other.body)
	}
	if a := send("", one); a.status != 200 {
		t.Fatalf("a repeat without a key: %d %s, want 200 (duplicate)", a.status, a.body)
	}
	long := make([]byte, healthcode.MaxSubmitKey+1)
	for i := range long {
		long[i] = 'k'
	}
	if a := send(string(long), one); a.status != 400 || a.problem(t).Reason != "submit.key" {
		t.Fatalf("an overlong key: %d %s", a.status, a.body)
	}
}
