package oversight_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"healthcode"
	"healthcode/oversight"
	"healthcode/sqlite"
)

var t0 = time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)

// storedAlert opens a fresh store holding one alert.
func storedAlert(t *testing.T) (*sqlite.DB, healthcode.Alert) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := healthcode.Alert{Detector: healthcode.DetectBurst, Key: "official:o1/1", OpenedAt: t0.Add(time.Second), FirstEffectAt: t0,
		Summary: "official o1 restricted 120 people", Officials: []string{"o1"}, Units: []string{"u1"}, People: []string{"pa", "pb"}, LogIndexes: []int64{7}}
	if err := db.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.CreateAlert(ctx, &a); return err }); err != nil {
		t.Fatal(err)
	}
	return db, a
}

// receiver is a local webhook receiver that fails the first failures
// requests with 503, then answers 204, and keeps what it was sent.
type receiver struct {
	mu       sync.Mutex
	failures int
	bodies   [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, b)
	if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(rc.bodies) <= rc.failures {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func deliveries(t *testing.T, db *sqlite.DB, id int64) []healthcode.DeliveryRecord {
	t.Helper()
	var ds []healthcode.DeliveryRecord
	if err := db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		ds, err = tx.Deliveries(context.Background(), id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestWebhookRetries: a receiver that fails twice gets the alert on the
// third attempt; each attempt is recorded with its status; the body is the
// alert.
func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	db, a := storedAlert(t)
	rc := &receiver{failures: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w := &oversight.Webhook{URL: srv.URL, Region: "410100", Store: db, Clock: healthcode.NewManualClock(t0), Backoff: time.Millisecond}
	if err := w.Deliver(context.Background(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	ds := deliveries(t, db, a.ID)
	var statuses []int
	for i, d := range ds {
		statuses = append(statuses, d.Status)
		if d.Attempt != i+1 || (d.Status == 204) != (d.Error == "") {
			t.Errorf("delivery %d = %+v", i, d)
		}
	}
	if !slices.Equal(statuses, []int{503, 503, 204}) {
		t.Errorf("statuses = %v, want 503 503 204", statuses)
	}
	if len(rc.bodies) != 3 {
		t.Fatalf("receiver got %d requests", len(rc.bodies))
	}
	var got oversight.AlertPayload
	if err := json.Unmarshal(rc.bodies[2], &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Detector != a.Detector || got.Region != "410100" || !slices.Equal(got.Officials, a.Officials) ||
		!slices.Equal(got.People, a.People) || !slices.Equal(got.LogIndexes, a.LogIndexes) || !got.FirstEffectAt.Equal(a.FirstEffectAt) {
		t.Errorf("payload = %+v, alert %+v", got, a)
	}
}

// TestWebhookGivesUp: a receiver that never accepts gets MaxAttempts tries,
// each recorded; Deliver reports the failure; the alert stays stored.
func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	db, a := storedAlert(t)
	rc := &receiver{failures: 1 << 30}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w := &oversight.Webhook{URL: srv.URL, Store: db, Clock: healthcode.NewManualClock(t0), Backoff: time.Millisecond, MaxAttempts: 3}
	if err := w.Deliver(context.Background(), a); err == nil {
		t.Fatal("Deliver to a failing receiver succeeded")
	}
	ds := deliveries(t, db, a.ID)
	if len(ds) != 3 || len(rc.bodies) != 3 {
		t.Fatalf("%d deliveries recorded, %d requests received; want 3", len(ds), len(rc.bodies))
	}
	for _, d := range ds {
		if d.Status != 503 || d.Error == "" {
			t.Errorf("delivery = %+v", d)
		}
	}
	// A receiver that is not there at all: attempts recorded with no status.
	srv.Close()
	if err := w.Deliver(context.Background(), a); err == nil {
		t.Fatal("Deliver to a closed receiver succeeded")
	}
	if ds := deliveries(t, db, a.ID); len(ds) != 6 || ds[5].Status != 0 || ds[5].Error == "" {
		t.Errorf("deliveries to a closed receiver: %+v", ds[3:])
	}
}

// TestWebhookQueue: alerts enqueued are delivered by Run's workers.
func TestWebhookQueue(t *testing.T) {
	t.Parallel()
	db, a := storedAlert(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w := &oversight.Webhook{URL: srv.URL, Store: db, Clock: healthcode.NewManualClock(t0), Backoff: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Enqueue(a)
	for len(deliveries(t, db, a.ID)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if ds := deliveries(t, db, a.ID); len(ds) != 1 || ds[0].Status != 204 {
		t.Errorf("deliveries = %+v", ds)
	}
}
