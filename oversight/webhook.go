package oversight

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"healthcode"
)

// AlertPayload is what the webhook receives for each alert: the alert as
// GET /api/v1/oversight/alerts shows it, and the node's region.
type AlertPayload struct {
	Region        string    `json:"region"`
	ID            int64     `json:"id"`
	Detector      string    `json:"detector"`
	OpenedAt      time.Time `json:"opened_at"`
	FirstEffectAt time.Time `json:"first_effect_at"`
	Summary       string    `json:"summary"`
	Officials     []string  `json:"officials"`
	Units         []string  `json:"units"`
	People        []string  `json:"people"`
	LogIndexes    []int64   `json:"log_indexes"`
}

// Webhook delivers each new alert to a URL (an oversight body's system, a
// chat bridge): a JSON POST, retried with exponential backoff until the
// receiver answers 2xx or MaxAttempts is spent. Every attempt is recorded in
// the store (healthcode.DeliveryRecord) and logged. Alerts are kept in the
// store whatever happens to their delivery.
type Webhook struct {
	URL    string
	Region string
	Store  healthcode.Store
	Clock  healthcode.Clock
	Client *http.Client
	Logger *slog.Logger
	// MaxAttempts bounds the tries per alert (default 8); Backoff is the
	// wait after the first failure, doubled after each (default 1s, at
	// most MaxBackoff, default 5m).
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	// Workers deliver in parallel (default 4), so one slow alert holds up
	// no other.
	Workers int
	// OnDelivery, if set, is told each attempt's outcome (metrics).
	OnDelivery func(d healthcode.DeliveryRecord)

	once  sync.Once
	queue chan healthcode.Alert
}

// webhookQueue bounds the alerts waiting for a worker.
const webhookQueue = 1000

func (w *Webhook) init() {
	w.once.Do(func() {
		w.queue = make(chan healthcode.Alert, webhookQueue)
		if w.Client == nil {
			w.Client = &http.Client{Timeout: 10 * time.Second}
		}
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 8
		}
		if w.Backoff <= 0 {
			w.Backoff = time.Second
		}
		if w.MaxBackoff <= 0 {
			w.MaxBackoff = 5 * time.Minute
		}
		if w.Workers <= 0 {
			w.Workers = 4
		}
		if w.Logger == nil {
			w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
	})
}

// Enqueue queues an alert for delivery without waiting. A full queue is
// recorded as a failed delivery (the alert stays in the store and at the
// API).
func (w *Webhook) Enqueue(a healthcode.Alert) {
	w.init()
	select {
	case w.queue <- a:
	default:
		w.record(context.Background(), healthcode.DeliveryRecord{AlertID: a.ID, Attempt: 0, At: w.Clock.Now(), Error: "webhook queue full: not delivered"})
	}
}

// Run delivers queued alerts until ctx ends.
func (w *Webhook) Run(ctx context.Context) {
	w.init()
	var wg sync.WaitGroup
	for range w.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case a := <-w.queue:
					w.Deliver(ctx, a)
				}
			}
		}()
	}
	wg.Wait()
}

// Deliver posts one alert, retrying with backoff; it returns nil once the
// receiver answered 2xx, or the last failure.
func (w *Webhook) Deliver(ctx context.Context, a healthcode.Alert) error {
	w.init()
	body, err := json.Marshal(AlertPayload{Region: w.Region, ID: a.ID, Detector: a.Detector, OpenedAt: a.OpenedAt, FirstEffectAt: a.FirstEffectAt,
		Summary: a.Summary, Officials: nonNil(a.Officials), Units: nonNil(a.Units), People: nonNil(a.People), LogIndexes: nonNilInts(a.LogIndexes)})
	if err != nil {
		return err
	}
	wait := w.Backoff
	var last error
	for attempt := 1; attempt <= w.MaxAttempts; attempt++ {
		status, err := w.post(ctx, body)
		d := healthcode.DeliveryRecord{AlertID: a.ID, Attempt: attempt, At: w.Clock.Now(), Status: status}
		if err != nil {
			d.Error = err.Error()
			if len(d.Error) > 500 {
				d.Error = d.Error[:500]
			}
		}
		w.record(ctx, d)
		if err == nil {
			w.Logger.Info("oversight webhook delivered", "alert", a.ID, "attempt", attempt, "status", status)
			return nil
		}
		last = err
		w.Logger.Warn("oversight webhook delivery failed", "alert", a.ID, "attempt", attempt, "status", status, "err", err)
		if attempt == w.MaxAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, w.MaxBackoff)
	}
	w.Logger.Error("oversight webhook gave up", "alert", a.ID, "attempts", w.MaxAttempts, "err", last)
	return last
}

func (w *Webhook) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "healthcode-oversight")
	resp, err := w.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

func (w *Webhook) record(ctx context.Context, d healthcode.DeliveryRecord) {
	if w.OnDelivery != nil {
		w.OnDelivery(d)
	}
	if w.Store == nil {
		return
	}
	bg := context.WithoutCancel(ctx)
	if err := w.Store.Update(bg, func(tx healthcode.Tx) error { return tx.RecordDelivery(bg, &d) }); err != nil {
		w.Logger.Error("recording a webhook delivery failed", "alert", d.AlertID, "err", err)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}
