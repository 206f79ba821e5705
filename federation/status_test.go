package federation

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/qr"
	"healthcode/tlog"
)

// memLog is a region's log for these tests: real leaves, a real tree and
// real signed checkpoints (tlog), in memory.
type memLog struct {
	r        *testRegion
	origin   string
	log      tlog.MemoryLog
	openings map[int64][2][]byte // subject, opening
}

func newMemLog(r *testRegion) *memLog {
	return &memLog{r: r, origin: r.logVer.Name(), openings: map[int64][2][]byte{}}
}

// decide appends a colour decision about subject and returns its index.
func (m *memLog) decide(tb testing.TB, typ healthcode.LogType, subject string, colour healthcode.Colour, reason string) int64 {
	tb.Helper()
	e := &healthcode.LogEntry{Type: typ, Time: t0, Region: m.r.code, Subject: subject, Colour: colour, Reason: reason,
		RuleID: "r1", ActorName: "healthcode", ActorRole: healthcode.RoleSystem}
	if typ == healthcode.LogOverride {
		e.ActorName, e.ActorRole = "操作员 赵敏", healthcode.RoleOperator
	}
	leaf, opening, err := tlog.EncodeLeaf(e, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	i, err := m.log.Append(leaf)
	if err != nil {
		tb.Fatal(err)
	}
	m.openings[i] = [2][]byte{[]byte(subject), opening}
	return i
}

// Receipt is tlog.Reader's: the entry's proof in a checkpoint signed now.
func (m *memLog) Receipt(ctx context.Context, subject string, index int64) ([]byte, error) {
	return m.receiptBy(subject, index, m.r.logKey)
}

func (m *memLog) receiptBy(subject string, index int64, signer note.Signer) ([]byte, error) {
	root, err := m.log.Root()
	if err != nil {
		return nil, err
	}
	cp, err := tlog.SignCheckpoint(m.origin, m.log.Size(), root, signer)
	if err != nil {
		return nil, err
	}
	proof, err := tlog.InclusionProof(index, m.log.Size(), &m.log)
	if err != nil {
		return nil, err
	}
	leaf, err := m.log.Leaf(index)
	if err != nil {
		return nil, err
	}
	o := m.openings[index]
	return tlog.FormatProof(index, leaf, string(o[0]), o[1], proof, cp), nil
}

// peerLog records the queries a side logs.
type peerLog struct {
	mu sync.Mutex
	qs []healthcode.PeerQuery
}

func (l *peerLog) RecordPeerQuery(ctx context.Context, q *healthcode.PeerQuery) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.qs = append(l.qs, *q)
	return int64(len(l.qs) - 1), nil
}

func (l *peerLog) last() healthcode.PeerQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.qs) == 0 {
		return healthcode.PeerQuery{}
	}
	return l.qs[len(l.qs)-1]
}

// codes is region A's: its current decisions by subject.
type codes struct {
	mu sync.Mutex
	d  map[string]*healthcode.Decision
}

func (c *codes) CurrentDecision(ctx context.Context, subject string) (*healthcode.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.d[subject]
	if d == nil {
		return &healthcode.Decision{Subject: subject, Colour: healthcode.Green, Reason: "none", LogIndex: -1}, nil
	}
	return d, nil
}

// fixture is regions A (answering) and B (asking) bound by a list.
type fixture struct {
	a, b     *testRegion
	alog     *memLog
	list     *TrustList
	clock    *healthcode.ManualClock
	client   *Client
	blog     *peerLog
	aAnswers *peerLog
	server   *Server
	decided  *codes
	addr     string
}

const (
	caseSubj = "pk5ztv3xqyj3m4d2bqz7wl6fh"
	ovSubj   = "pq5ztv3xqyj3m4d2bqz7wl6fh"
)

// newFixture starts A's endpoint: the real Server, or handler in its place
// (a rogue A: it holds A's node key but answers what the test says).
func newFixture(t *testing.T, handler func(f *fixture, q *Query) []byte, tweak func(s *Server)) *fixture {
	t.Helper()
	f := &fixture{a: newTestRegion(t, "410100"), b: newTestRegion(t, "370100"), clock: healthcode.NewManualClock(t0),
		blog: &peerLog{}, aAnswers: &peerLog{}}
	f.alog = newMemLog(f.a)
	ci := f.alog.decide(t, healthcode.LogDecision, caseSubj, healthcode.Red, "confirmed_case")
	oi := f.alog.decide(t, healthcode.LogOverride, ovSubj, healthcode.Red, "override.data_entry_correction")
	f.decided = &codes{d: map[string]*healthcode.Decision{
		caseSubj: {Subject: caseSubj, Colour: healthcode.Red, Reason: "confirmed_case", LogIndex: ci},
		ovSubj:   {Subject: ovSubj, Colour: healthcode.Red, Reason: "override.data_entry_correction", LogIndex: oi},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	nat, natV := noteKeys(t, "national.example")
	msg := signList(t, nat, 1, f.a.entry(t, "https://"+f.addr), f.b.entry(t, "https://127.0.0.1:1"))
	if f.list, err = OpenTrustList(msg, note.VerifierList(natV), t0); err != nil {
		t.Fatal(err)
	}
	// A verifies its own codes and, holding the list, other regions' too
	// (as a node's qr.Service does).
	svc := qr.NewTrust()
	if err := svc.Add(f.a.code, f.a.qr.Public()); err != nil {
		t.Fatal(err)
	}
	if err := svc.Merge(f.list.QRTrust()); err != nil {
		t.Fatal(err)
	}
	f.server = &Server{Region: f.a.code, NodeKey: f.a.node, Trust: func() *TrustList { return f.list },
		Codes: verifierOf{svc}, Status: f.decided, Receipts: f.alog, Log: f.aAnswers, Clock: f.clock}
	if tweak != nil {
		tweak(f.server)
	}
	if handler == nil {
		go f.server.Serve(ln)
		t.Cleanup(func() { f.server.Shutdown(context.Background()) })
	} else {
		cfg, err := f.server.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var q Query
			json.NewDecoder(r.Body).Decode(&q)
			w.Write(handler(f, &q))
		})}
		go srv.Serve(tls.NewListener(ln, cfg))
		t.Cleanup(func() { srv.Close() })
	}
	f.client = &Client{Region: f.b.code, NodeKey: f.b.node, Trust: func() *TrustList { return f.list },
		Policy: healthcode.AcceptancePolicy{Reasons: healthcode.DefaultAcceptedReasons}, Log: f.blog, Clock: f.clock}
	return f
}

// verifierOf verifies A's own codes (qr.Service's VerifyCode).
type verifierOf struct{ t *qr.Trust }

func (v verifierOf) VerifyCode(text string, now time.Time) (*healthcode.HealthCode, error) {
	c, err := qr.Verify(text, v.t, now)
	if err != nil {
		return nil, err
	}
	return &healthcode.HealthCode{Region: c.Region, Subject: c.Subject, Colour: c.Colour, IssuedAt: c.IssuedAt, Expires: c.Expires}, nil
}

// answer is what an honest A says to q, changed by change, signed by
// signer (A's node key if nil).
func (f *fixture) answer(t *testing.T, q *Query, change func(a *Answer), signer note.Signer) []byte {
	t.Helper()
	hc, err := verifierOf{f.list.QRTrust()}.VerifyCode(q.Code, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := f.decided.d[hc.Subject]
	receipt, err := f.alog.Receipt(context.Background(), d.Subject, d.LogIndex)
	if err != nil {
		t.Fatal(err)
	}
	a := &Answer{From: f.a.code, To: q.From, Nonce: q.Nonce, Subject: d.Subject, Colour: d.Colour.String(), Reason: d.Reason,
		LogIndex: d.LogIndex, Answered: f.clock.Now(), Receipt: base64.StdEncoding.EncodeToString(receipt)}
	if change != nil {
		change(a)
	}
	if signer == nil {
		if signer, err = NodeNoteSigner(NodeNoteName(f.a.code), f.a.node); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := signAnswer(a, signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestStatusHonest: B honours A's epidemiological red with its reason,
// refuses (and reports) A's red resting on an override reason it does not
// accept, and each side logs the query.
func TestStatusHonest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	var refused []*Status
	f.client.OnRefused = func(ctx context.Context, s *Status) { refused = append(refused, s) }
	st, err := f.client.Status(context.Background(), f.a.issue(t, caseSubj, healthcode.Red, t0))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Honoured() || st.Reason != "confirmed_case" || st.Colour != healthcode.Red || st.Issuer.Code != f.a.code {
		t.Fatalf("status: %+v", st)
	}
	if q := f.aAnswers.last(); q.Peer != f.b.code || q.Subject != caseSubj || q.Outcome != healthcode.PeerAnswered || q.Asked {
		t.Fatalf("A logged %+v", q)
	}
	if q := f.blog.last(); q.Peer != f.a.code || q.Subject != caseSubj || q.Outcome != healthcode.PeerHonoured || !q.Asked || q.Reason != "confirmed_case" {
		t.Fatalf("B logged %+v", q)
	}
	st, err = f.client.Status(context.Background(), f.a.issue(t, ovSubj, healthcode.Red, t0))
	if err != nil {
		t.Fatal(err)
	}
	if st.Honoured() || st.Outcome != healthcode.PeerRefusedReason || len(refused) != 1 || f.client.Refused.Load() != 1 {
		t.Fatalf("override status: %+v, %d reported", st, len(refused))
	}
	if q := f.blog.last(); q.Outcome != healthcode.PeerRefusedReason || q.Subject != ovSubj {
		t.Fatalf("B logged %+v", q)
	}
	// A code of B itself is not asked of anyone.
	if _, err := f.client.Status(context.Background(), f.b.issue(t, caseSubj, healthcode.Red, t0)); healthcode.ErrorDetail(err) != ReasonOwnRegion {
		t.Fatalf("own code: %v", err)
	}
}

// TestStatusBadAnswers: every answer that does not verify is a clear error,
// logged as failed, and nothing is propagated.
func TestStatusBadAnswers(t *testing.T) {
	t.Parallel()
	var replay []byte // an honest answer to an earlier query
	forger, err := NodeNoteSigner(NodeNoteName("410100"), seedKey("forger"))
	if err != nil {
		t.Fatal(err)
	}
	otherLog, err := NodeNoteSigner("log.region410100.example", seedKey("another log key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, f *fixture, q *Query) []byte
		want   string
	}{
		{"signed by another key", func(t *testing.T, f *fixture, q *Query) []byte { return f.answer(t, q, nil, forger) }, ReasonAnswerSignature},
		{"replayed from another query", func(t *testing.T, f *fixture, q *Query) []byte {
			if replay == nil {
				replay = f.answer(t, &Query{From: q.From, Code: q.Code, Nonce: base64.StdEncoding.EncodeToString(make([]byte, nonceLen))}, nil, nil)
			}
			return replay
		}, ReasonReplayed},
		{"stale", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.Answered = a.Answered.Add(-10 * time.Minute) }, nil)
		}, ReasonReplayed},
		{"to another region", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.To = "130100" }, nil)
		}, ReasonReplayed},
		{"about someone else", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.Subject = ovSubj }, nil)
		}, ReasonBadProof},
		{"another person's entry as proof", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) {
				r, _ := f.alog.Receipt(context.Background(), ovSubj, f.decided.d[ovSubj].LogIndex)
				d := f.decided.d[ovSubj]
				a.Receipt, a.LogIndex, a.Reason = base64.StdEncoding.EncodeToString(r), d.LogIndex, d.Reason
			}, nil)
		}, ReasonBadProof},
		{"an epidemiological reason the log does not hold", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.Reason = "close_contact" }, nil)
		}, ReasonBadProof},
		{"another log index than the proof's", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.LogIndex++ }, nil)
		}, ReasonBadProof},
		{"checkpoint not signed by A's log key", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) {
				r, _ := f.alog.receiptBy(caseSubj, a.LogIndex, otherLog)
				a.Receipt = base64.StdEncoding.EncodeToString(r)
			}, nil)
		}, ReasonBadProof},
		{"proof hash altered", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) {
				r, _ := base64.StdEncoding.DecodeString(a.Receipt)
				lines := strings.Split(string(r), "\n")
				lines[3] = base64.StdEncoding.EncodeToString(make([]byte, 32))
				a.Receipt = base64.StdEncoding.EncodeToString([]byte(strings.Join(lines, "\n")))
			}, nil)
		}, ReasonBadProof},
		{"red with no log entry", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.LogIndex, a.Receipt = -1, "" }, nil)
		}, ReasonBadProof},
		{"not JSON", func(t *testing.T, f *fixture, q *Query) []byte {
			return f.answer(t, q, func(a *Answer) { a.Colour = "purple" }, nil)
		}, ReasonAnswerMalformed},
		{"not a note", func(t *testing.T, f *fixture, q *Query) []byte { return []byte("red\n") }, ReasonAnswerMalformed},
		{"too large", func(t *testing.T, f *fixture, q *Query) []byte { return make([]byte, MaxAnswerSize+10) }, ReasonAnswerMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture, q *Query) []byte { return tc.answer(t, f, q) }, nil)
			f.client.OnRefused = func(ctx context.Context, s *Status) { t.Errorf("a bad answer was reported as a refusal: %+v", s) }
			st, err := f.client.Status(context.Background(), f.a.issue(t, caseSubj, healthcode.Red, t0))
			if healthcode.ErrorDetail(err) != tc.want || st != nil {
				t.Fatalf("Status = %+v, %v; want %s", st, err, tc.want)
			}
			if q := f.blog.last(); q.Outcome != "failed."+strings.TrimPrefix(tc.want, "federation.") || q.Colour != 0 || q.Subject != caseSubj {
				t.Fatalf("B logged %+v", q)
			}
			if f.client.Failed.Load() != 1 || f.client.Honoured.Load() != 0 {
				t.Fatal("not counted as failed")
			}
		})
	}
}

// TestStatusPeers: only nodes whose keys the trust list names talk: B
// refuses an endpoint holding another key than A's, A refuses a client
// whose key is no region's; A answers only with a valid code of its own,
// and each peer region at its rate.
func TestStatusPeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, func(s *Server) { s.PerPeer, s.Burst = 0.001, 2 })
	code := f.a.issue(t, caseSubj, healthcode.Red, t0)

	// A client with a key the list does not hold.
	stranger := &Client{Region: f.b.code, NodeKey: seedKey("stranger"), Trust: f.client.Trust, Policy: f.client.Policy, Log: &peerLog{}, Clock: f.clock}
	// Refused at the handshake, before any HTTP.
	if _, err := stranger.Status(ctx, code); healthcode.ErrorDetail(err) != ReasonPeerRefused || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("a client with no region's key: %v", err)
	}
	if q := f.aAnswers.last(); q.Subject != "" {
		t.Fatalf("A answered a stranger: %+v", q)
	}
	// An endpoint with another key than A's node key in the list.
	impostor := newFixture(t, nil, func(s *Server) { s.NodeKey = seedKey("impostor") })
	if _, err := impostor.client.Status(ctx, code); healthcode.ErrorDetail(err) != ReasonPeerRefused || !strings.Contains(healthcode.ErrorMessage(err), "node key") {
		t.Fatalf("an endpoint with another key: %v", err)
	}
	if q := impostor.aAnswers.last(); q.Subject != "" {
		t.Fatalf("the impostor was asked: %+v", q)
	}

	// A query with a code that is not A's, or not valid, is refused.
	q := &Query{From: f.b.code, Code: f.b.issue(t, caseSubj, healthcode.Red, t0), Nonce: base64.StdEncoding.EncodeToString(make([]byte, nonceLen))}
	if _, err := f.server.Answer(ctx, q); healthcode.ErrorDetail(err) != ReasonNotAuthorised {
		t.Fatalf("a code of another region: %v", err)
	}
	q.Code = f.a.issue(t, caseSubj, healthcode.Red, t0.Add(-time.Hour))
	if _, err := f.server.Answer(ctx, q); healthcode.ErrorDetail(err) != ReasonNotAuthorised {
		t.Fatalf("an expired code: %v", err)
	}
	// Rate: two at once, then 429.
	for i := 0; i < 2; i++ {
		if _, err := f.client.Status(ctx, code); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
	}
	if _, err := f.client.Status(ctx, code); healthcode.ErrorDetail(err) != ReasonPeerRefused || !strings.Contains(healthcode.ErrorMessage(err), "429") {
		t.Fatalf("third query at once: %v", err)
	}
}
