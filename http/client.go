package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

// Client calls a node's JSON API as one token holder. It is what programs
// beside the server use (the scenario, the bench); it decodes answers into
// this package's JSON types and turns a problem answer into a *ClientError.
type Client struct {
	// BaseURL is the node's address, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Token is the bearer token sent with each request; empty for none.
	Token string
	// HTTP is the client used; http.DefaultClient if nil.
	HTTP *http.Client
}

// NewClient returns a client of the node at baseURL with a keep-alive
// transport of its own and a timeout of a minute per request.
func NewClient(baseURL string) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// As returns a copy of c that sends token.
func (c *Client) As(token string) *Client {
	d := *c
	d.Token = token
	return &d
}

// ClientError is a node's answer other than 2xx: its status and problem.
type ClientError struct {
	Method, Path string
	Status       int
	Problem      Problem
	// RetryAfter is the answer's Retry-After (in seconds), if it had one.
	RetryAfter time.Duration
}

func (e *ClientError) Error() string {
	return fmt.Sprintf("%s %s: %d %s (%s)", e.Method, e.Path, e.Status, e.Problem.Detail, e.Problem.Reason)
}

// Err returns the problem as the domain's error (its code, reason and
// detail), for callers that speak the domain's interfaces.
func (e *ClientError) Err() error {
	code := e.Problem.Code
	if code == "" {
		code = healthcode.EINTERNAL
	}
	return healthcode.Errorfd(code, e.Problem.Reason, "%s", e.Problem.Detail)
}

// Do sends a request with in as its JSON body (none if nil) and decodes a
// 2xx answer into out (if not nil). It returns the status, and a
// *ClientError for an answer outside 2xx; other errors are the transport's.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) (int, error) {
	return c.do(ctx, method, path, nil, in, out)
}

// do is Do with extra request headers.
func (c *Client) do(ctx context.Context, method, path string, header http.Header, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return 0, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		ce := &ClientError{Method: method, Path: path, Status: resp.StatusCode}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			ce.RetryAfter = time.Duration(secs) * time.Second
		}
		if json.Unmarshal(b, &ce.Problem) != nil {
			ce.Problem.Detail = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, ce
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: answer %d is not the JSON expected: %w", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// ClientProblem returns err as a *ClientError if it is one, else nil.
func ClientProblem(err error) *ClientError {
	if ce, ok := err.(*ClientError); ok {
		return ce
	}
	return nil
}

// BatchOutcomeJSON is the answer to a chunk of evidence ({"items":[…]}).
type BatchOutcomeJSON struct {
	Summary map[string]int `json:"summary"`
	Items   []OutcomeJSON  `json:"items"`
}

// SubmitEvidence posts items as one chunk and returns each item's outcome.
func (c *Client) SubmitEvidence(ctx context.Context, items []EvidenceJSON) (*BatchOutcomeJSON, error) {
	var out BatchOutcomeJSON
	if _, err := c.Do(ctx, "POST", "/api/v1/evidence", map[string]any{"items": items}, &out); err != nil {
		return nil, err
	}
	if len(out.Items) != len(items) {
		return nil, fmt.Errorf("POST /api/v1/evidence: %d outcomes for %d items", len(out.Items), len(items))
	}
	return &out, nil
}

// SubmitEvidenceOnce posts items as one chunk under an idempotency key:
// sent again with the same key (after a lost answer, or by a restarted
// import), the node answers with the first outcome and stores nothing
// twice. A node that answers 503 (busy, or its disk or database refusing)
// is asked again up to five times, after its Retry-After (at most 30 s).
func (c *Client) SubmitEvidenceOnce(ctx context.Context, key string, items []EvidenceJSON) (*BatchOutcomeJSON, error) {
	header := http.Header{"Idempotency-Key": {key}}
	for attempt := 0; ; attempt++ {
		var out BatchOutcomeJSON
		_, err := c.do(ctx, "POST", "/api/v1/evidence", header, map[string]any{"items": items}, &out)
		if ce := ClientProblem(err); ce != nil && ce.Status == http.StatusServiceUnavailable && attempt < 5 {
			wait := min(max(ce.RetryAfter, time.Duration(attempt+1)*time.Second), 30*time.Second)
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		} else if err != nil {
			return nil, err
		}
		if len(out.Items) != len(items) {
			return nil, fmt.Errorf("POST /api/v1/evidence: %d outcomes for %d items", len(out.Items), len(items))
		}
		return &out, nil
	}
}

// CollectionBatchJSON is the answer to a batch of collections.
type CollectionBatchJSON struct {
	Items []CollectionOutcomeJSON `json:"items"`
}

// Collect posts collections as one batch and returns each one's outcome.
func (c *Client) Collect(ctx context.Context, items []CollectionJSON) ([]CollectionOutcomeJSON, error) {
	var out CollectionBatchJSON
	if _, err := c.Do(ctx, "POST", "/api/v1/collections", map[string]any{"items": items}, &out); err != nil {
		return nil, err
	}
	if len(out.Items) != len(items) {
		return nil, fmt.Errorf("POST /api/v1/collections: %d outcomes for %d items", len(out.Items), len(items))
	}
	return out.Items, nil
}

// MyCode returns the code of the citizen whose token c holds.
func (c *Client) MyCode(ctx context.Context) (*MyCodeJSON, error) {
	var out MyCodeJSON
	if _, err := c.Do(ctx, "GET", "/api/v1/me/code", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClientAlertJSON is an oversight alert as GET /api/v1/oversight/alerts lists
// it, as the client reads it (the server's own form is AlertJSON).
type ClientAlertJSON struct {
	ID            int64     `json:"id"`
	Detector      string    `json:"detector"`
	OpenedAt      time.Time `json:"opened_at"`
	FirstEffectAt time.Time `json:"first_effect_at"`
	Summary       string    `json:"summary"`
	Officials     []string  `json:"officials"`
	Units         []string  `json:"units"`
	People        []string  `json:"people"`
	LogIndexes    []int64   `json:"log_indexes"`
	ReviewID      *int64    `json:"review_id"`
}

// Alerts lists the node's oversight alerts (an auditor's token).
func (c *Client) Alerts(ctx context.Context) ([]ClientAlertJSON, error) {
	var out struct {
		Alerts []ClientAlertJSON `json:"alerts"`
	}
	if _, err := c.Do(ctx, "GET", "/api/v1/oversight/alerts", nil, &out); err != nil {
		return nil, err
	}
	return out.Alerts, nil
}

// Actors acts, over a node's API, as the officials whose tokens it holds:
// it implements the services sim.Replayer replays an outbreak through
// (healthcode.EvidenceService, sim.Collector, sim.RecordConfirmer), so
// that a synthetic city's lawful work reaches a node as its officials'
// requests would.
type Actors struct {
	Client *Client
	// Tokens maps an official's id to their token.
	Tokens map[string]string
}

func (a *Actors) as(p *healthcode.Principal) (*Client, error) {
	if p == nil {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.none", "no official")
	}
	tok, ok := a.Tokens[p.ID]
	if !ok {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.none", "no token for official %s", p.ID)
	}
	return a.Client.As(tok), nil
}

// Submit posts the items as one chunk, as the official actor.
func (a *Actors) Submit(ctx context.Context, actor *healthcode.Principal, subs []healthcode.Submission) ([]healthcode.Outcome, error) {
	c, err := a.as(actor)
	if err != nil {
		return nil, err
	}
	items := make([]EvidenceJSON, len(subs))
	for i, s := range subs {
		e := s.Evidence
		items[i] = EvidenceJSON{Kind: string(e.Kind), Tube: s.Tube, Subject: e.Subject, IDNumber: s.IDNumber, ExternalID: e.ExternalID,
			ObservedAt: e.ObservedAt, Result: e.Result, Pooled: e.Pooled, PoolID: e.PoolID, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef,
			RiskLevel: e.RiskLevel, Area: e.Area, Dose: e.Dose}
		if s.Link.Kind != "" {
			items[i].Link = &LinkJSON{Kind: s.Link.Kind, Venue: s.Link.Venue, Via: s.Link.Via, ViaIDNumber: s.Link.ViaIDNumber}
		}
	}
	out, err := c.SubmitEvidence(ctx, items)
	if err != nil {
		if ce := ClientProblem(err); ce != nil {
			return nil, ce.Err()
		}
		return nil, err
	}
	outs := make([]healthcode.Outcome, len(subs))
	for i, o := range out.Items {
		outs[i] = healthcode.Outcome{Line: subs[i].Line, Status: o.Status, EvidenceID: o.EvidenceID, Case: o.Case, Pending: o.PendingRecord}
		if o.Error != nil {
			outs[i].Err = (&ClientError{Status: o.Error.Status, Problem: *o.Error}).Err()
		}
	}
	return outs, nil
}

// Collect posts the collections as one batch, as the sampler actor.
func (a *Actors) Collect(ctx context.Context, actor *healthcode.Principal, items []healthcode.CollectionRequest) ([]healthcode.CollectionOutcome, error) {
	c, err := a.as(actor)
	if err != nil {
		return nil, err
	}
	in := make([]CollectionJSON, len(items))
	for i, it := range items {
		in[i] = CollectionJSON{Code: it.Code, IDNumber: it.IDNumber, Tube: it.Tube, Mixed: it.Mixed, Site: it.Site, CollectedAt: it.CollectedAt}
	}
	out, err := c.Collect(ctx, in)
	if err != nil {
		if ce := ClientProblem(err); ce != nil {
			return nil, ce.Err()
		}
		return nil, err
	}
	outs := make([]healthcode.CollectionOutcome, len(items))
	for i, o := range out {
		outs[i] = healthcode.CollectionOutcome{Line: items[i].Line, Status: o.Status, CollectionID: o.CollectionID}
		if o.Error != nil {
			outs[i].Err = (&ClientError{Status: o.Error.Status, Problem: *o.Error}).Err()
		}
	}
	return outs, nil
}

// ConfirmRecord confirms a held record as the official actor.
func (a *Actors) ConfirmRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
	c, err := a.as(actor)
	if err != nil {
		return nil, err
	}
	var r RecordJSON
	if _, err := c.Do(ctx, "POST", fmt.Sprintf("/api/v1/records/%d/confirm", id), nil, &r); err != nil {
		if ce := ClientProblem(err); ce != nil {
			return nil, ce.Err()
		}
		return nil, err
	}
	return &healthcode.PendingRecord{ID: r.ID, Status: r.Status, CoSignNeeded: r.NeedsCoSign}, nil
}

// LogFile fetches a file of the node's public log, by its path under /log/
// (checkpoint, a tile, an entry bundle), as any outsider reads it: no token,
// at most 64 MB, and any answer but 200 an error.
func (c *Client) LogFile(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+"/log/"+path, nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/log/%s: %s", c.BaseURL, path, resp.Status)
	}
	return b, nil
}
