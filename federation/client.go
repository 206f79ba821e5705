package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/qr"
	"healthcode/tlog"
)

// AnswerSkew is how far a status answer's time may lie from the asking
// node's clock.
const AnswerSkew = 2 * time.Minute

// Status is what a region made of another region's answer about a
// traveller.
type Status struct {
	Issuer   *Region    // the region that issued the code and answered
	Code     *qr.Claims // the traveller's code, verified offline
	Colour   healthcode.Colour
	Reason   string // the reason code the colour rests on, as the issuer's log recorded it
	LogIndex int64  // the issuer's log entry that decided it, -1 if none
	// Acting is who that entry names as having decided the colour, when
	// officials did (an override: its requester and approver, as the
	// issuer's log names them); empty for a decision of the issuer's rules.
	Acting string
	// Outcome is one of healthcode's Peer* outcomes: PeerHonoured (hold
	// the traveller to Colour), PeerGreen, or a refusal (the colour is not
	// propagated: the traveller is held to nothing from the issuer).
	Outcome string
	Answer  []byte // the signed answer, kept as evidence
}

// Honoured reports whether the asking region holds the traveller to the
// issuer's restrictive colour.
func (s *Status) Honoured() bool { return s.Outcome == healthcode.PeerHonoured }

// Client asks peer regions for travellers' colours, over mutual TLS pinned
// to the keys of the trust list, checks every answer (signature, nonce,
// freshness, log proof, the opened entry), applies the acceptance policy,
// and logs every query in this region's log.
type Client struct {
	Region  string
	NodeKey ed25519.PrivateKey
	Trust   func() *TrustList
	Policy  healthcode.AcceptancePolicy
	Log     healthcode.PeerQueryLogger
	Clock   healthcode.Clock
	Logger  *slog.Logger
	// OnRefused is told of each restrictive colour not propagated (a
	// reason not on the policy's list, or none): the region's oversight
	// is alerted.
	OnRefused func(ctx context.Context, s *Status)
	// Timeout bounds one query; 10 s if zero.
	Timeout time.Duration

	mu      sync.Mutex
	clients map[string]*http.Client // by region and node key
	// Counts, for metrics.
	Asked, Honoured, Refused, Failed atomic.Int64
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// httpClient returns the client for a peer, pinned to its node key.
func (c *Client) httpClient(r *Region) (*http.Client, error) {
	key := r.Code + "/" + base64.StdEncoding.EncodeToString(r.nodeKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc := c.clients[key]; hc != nil {
		return hc, nil
	}
	cert, err := nodeCertificate(c.Region, c.NodeKey, c.Clock.Now())
	if err != nil {
		return nil, err
	}
	want := r.nodeKey
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// The peer is known by the node key the trust list names, checked
		// below, not by a CA or a host name.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			k, err := peerKey(raw)
			if err != nil {
				return err
			}
			if !k.Equal(want) {
				return fmt.Errorf("the peer's key is not region %s's node key in the trust list", r.Code)
			}
			return nil
		},
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
		IdleConnTimeout: 90 * time.Second}}
	if c.clients == nil {
		c.clients = make(map[string]*http.Client)
	}
	c.clients[key] = hc
	return hc, nil
}

func answerErr(detail, format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, detail, format, args...)
}

// Status asks the region that issued code for the traveller's colour. The
// code is verified offline first (its errors are qr.Verify's and
// ReasonUnknownRegion); a code of this region returns ReasonOwnRegion. A
// refusal by the peer returns EUNAVAILABLE (ReasonPeerRefused); an answer
// that does not verify returns EINVALID with ReasonAnswerSignature,
// ReasonAnswerMalformed, ReasonReplayed or ReasonBadProof. On every error
// nothing is propagated: no colour is held from the peer.
func (c *Client) Status(ctx context.Context, code string) (*Status, error) {
	now := c.Clock.Now()
	l := c.Trust()
	if l == nil {
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "federation.no_trust_list", "no current trust list is held: codes of other regions cannot be checked")
	}
	claims, issuer, err := l.VerifyCode(code, now)
	if err != nil {
		return nil, err
	}
	if issuer.Code == c.Region {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonOwnRegion, "a code of this region (%s): no peer to ask", c.Region)
	}
	c.Asked.Add(1)
	st, err := c.ask(ctx, l, issuer, claims, code, now)
	if err != nil {
		c.Failed.Add(1)
		c.logger().Warn("federation: a peer's status answer was not accepted", "peer", issuer.Code, "detail", healthcode.ErrorDetail(err), "err", err)
		// Logged too: every cross-region query is in both logs.
		if _, lerr := c.Log.RecordPeerQuery(ctx, &healthcode.PeerQuery{Peer: issuer.Code, Asked: true, Subject: claims.Subject,
			Outcome: "failed." + strings.TrimPrefix(healthcode.ErrorDetail(err), "federation."), LogIndex: -1, Time: now}); lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		return nil, err
	}
	switch {
	case st.Colour == healthcode.Green:
		st.Outcome = healthcode.PeerGreen
	case st.Reason == "" || st.Reason == "none":
		st.Outcome = healthcode.PeerRefusedNoReason
	case c.Policy.Accepts(st.Reason):
		st.Outcome = healthcode.PeerHonoured
	default:
		st.Outcome = healthcode.PeerRefusedReason
	}
	if _, err := c.Log.RecordPeerQuery(ctx, &healthcode.PeerQuery{Peer: issuer.Code, Asked: true, Subject: claims.Subject,
		Colour: st.Colour, Reason: st.Reason, Outcome: st.Outcome, LogIndex: st.LogIndex, PeerActing: st.Acting, Time: now}); err != nil {
		return nil, err
	}
	switch st.Outcome {
	case healthcode.PeerHonoured:
		c.Honoured.Add(1)
	case healthcode.PeerRefusedReason, healthcode.PeerRefusedNoReason:
		c.Refused.Add(1)
		c.logger().Warn("federation: a peer's restrictive colour rests on no accepted reason: not propagated",
			"peer", issuer.Code, "colour", st.Colour.String(), "outcome", st.Outcome, "peer_log_index", st.LogIndex)
		if c.OnRefused != nil {
			c.OnRefused(ctx, st)
		}
	}
	return st, nil
}

func (c *Client) ask(ctx context.Context, l *TrustList, issuer *Region, claims *qr.Claims, code string, now time.Time) (*Status, error) {
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	q := Query{From: c.Region, Code: code, Nonce: base64.StdEncoding.EncodeToString(nonce)}
	body, _ := json.Marshal(q)
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc, err := c.httpClient(issuer)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuer.Endpoint, "/")+StatusPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, ReasonPeerRefused, "region %s cannot be reached: %v", issuer.Code, err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerSize+1))
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, ReasonPeerRefused, "reading region %s's answer: %v", issuer.Code, err)
	}
	if resp.StatusCode != http.StatusOK {
		var p problem
		json.Unmarshal(msg, &p)
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, ReasonPeerRefused, "region %s refused the query (%s): %s", issuer.Code, resp.Status, printableOr(p.Message, p.Detail))
	}
	return c.check(l, issuer, claims, q.Nonce, msg, now)
}

// check verifies a peer's answer to the query with nonce about the
// traveller of claims.
func (c *Client) check(l *TrustList, issuer *Region, claims *qr.Claims, nonce string, msg []byte, now time.Time) (*Status, error) {
	v, err := nodeNoteVerifier(issuer.Code, issuer.nodeKey)
	if err != nil {
		return nil, err
	}
	a, err := OpenAnswer(msg, v)
	if err != nil {
		return nil, err
	}
	switch {
	case a.From != issuer.Code || a.To != c.Region:
		return nil, answerErr(ReasonReplayed, "the answer is from %s to %s, not from %s to %s", a.From, a.To, issuer.Code, c.Region)
	case a.Nonce != nonce:
		return nil, answerErr(ReasonReplayed, "the answer is another query's (its nonce is not this query's): replayed")
	case a.Answered.Sub(now) > AnswerSkew || now.Sub(a.Answered) > AnswerSkew:
		return nil, answerErr(ReasonReplayed, "the answer was made at %s, not now", a.Answered.Format(time.RFC3339))
	case a.Subject != claims.Subject:
		return nil, answerErr(ReasonBadProof, "the answer is about someone else than the code's holder")
	}
	colour, _ := healthcode.ParseColour(a.Colour)
	st := &Status{Issuer: issuer, Code: claims, Colour: colour, Reason: a.Reason, LogIndex: a.LogIndex, Answer: msg}
	if a.LogIndex < 0 {
		if colour.Restrictive() {
			return nil, answerErr(ReasonBadProof, "a %s colour with no log entry behind it", colour)
		}
		return st, nil
	}
	receipt, _ := base64.StdEncoding.DecodeString(a.Receipt)
	res, err := tlog.VerifyProof(receipt, issuer.LogOrigin, note.VerifierList(issuer.logVerifier))
	if err != nil {
		return nil, answerErr(ReasonBadProof, "the log proof does not verify: %s (%s)", healthcode.ErrorMessage(err), healthcode.ErrorDetail(err))
	}
	e := res.Opened
	switch {
	case e == nil:
		return nil, answerErr(ReasonBadProof, "the log proof does not open its entry")
	case res.Index != a.LogIndex:
		return nil, answerErr(ReasonBadProof, "the proof is of log entry %d, the answer names %d", res.Index, a.LogIndex)
	case !e.Type.DecidesColour():
		return nil, answerErr(ReasonBadProof, "log entry %d is a %s entry, not a colour decision", res.Index, e.Type)
	case e.Region != issuer.Code || e.Subject != claims.Subject:
		return nil, answerErr(ReasonBadProof, "log entry %d is not about this traveller of region %s", res.Index, issuer.Code)
	case e.Colour != colour || e.Reason != a.Reason:
		return nil, answerErr(ReasonBadProof, "log entry %d says %s for %q, the answer %s for %q", res.Index, e.Colour, e.Reason, colour, a.Reason)
	}
	if e.ActorRole != healthcode.RoleSystem {
		st.Acting = e.ActorName
	}
	return st, nil
}

func printableOr(s, alt string) string {
	if s != "" && printable(s, 500) {
		return s
	}
	if printable(alt, 100) {
		return alt
	}
	return "no reason given"
}

var _ healthcode.PeerStatusService = (*Client)(nil)

// PeerStatus is Status as a checkpoint may see it: without the reason.
func (c *Client) PeerStatus(ctx context.Context, code string) (*healthcode.PeerStatus, error) {
	st, err := c.Status(ctx, code)
	if err != nil {
		return nil, err
	}
	return &healthcode.PeerStatus{Region: st.Issuer.Code, RegionName: st.Issuer.Name, Colour: st.Colour, Outcome: st.Outcome}, nil
}
