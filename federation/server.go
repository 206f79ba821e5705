package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/time/rate"

	"healthcode"
)

// StatusPath is where a node answers its peers' status queries.
const StatusPath = "/federation/v1/status"

// nonceLen is the length of a query's nonce.
const nonceLen = 16

// maxQuerySize bounds a query's body: a code and a nonce.
const maxQuerySize = 8 << 10

// Query is what a peer sends: the asking region, the traveller's code (the
// only thing that authorises the query) and a fresh nonce the answer must
// carry.
type Query struct {
	From  string `json:"from"`
	Code  string `json:"code"`
	Nonce string `json:"nonce"`
}

// CodeVerifier verifies this region's own codes (qr.Service).
type CodeVerifier interface {
	VerifyCode(text string, now time.Time) (*healthcode.HealthCode, error)
}

// Decisions gives the decision a person of this region holds now
// (engine.Engine).
type Decisions interface {
	CurrentDecision(ctx context.Context, subject string) (*healthcode.Decision, error)
}

// Receipts gives the C2SP tlog-proof of a log entry about a person, with
// the opening of its commitments (tlog.Reader).
type Receipts interface {
	Receipt(ctx context.Context, subject string, index int64) ([]byte, error)
}

// Server answers peers' status queries about this region's travellers,
// over TLS that requires a client certificate whose key is a region's node
// key in the trust list. It answers only a query that carries a valid code
// of this region (the traveller's consent), rate-limits each peer region,
// and logs every answer in this region's log. It never sends anything
// unasked.
type Server struct {
	Region   string
	NodeKey  ed25519.PrivateKey
	Trust    func() *TrustList // the list held now; nil: none
	Codes    CodeVerifier
	Status   Decisions
	Receipts Receipts
	Log      healthcode.PeerQueryLogger
	Clock    healthcode.Clock
	Logger   *slog.Logger
	// PerPeer is the rate each peer region may query at (per second) and
	// Burst how many at once; 50/s and 100 if zero.
	PerPeer rate.Limit
	Burst   int

	once     sync.Once
	signer   note.Signer
	initErr  error
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	srv      *http.Server
}

func (s *Server) init() error {
	s.once.Do(func() {
		s.signer, s.initErr = NodeNoteSigner(NodeNoteName(s.Region), s.NodeKey)
		s.limiters = make(map[string]*rate.Limiter)
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
	})
	return s.initErr
}

// TLSConfig returns the server side of the nodes' mutual TLS: this node's
// key, and a client key that must be a region's node key in the list held.
func (s *Server) TLSConfig() (*tls.Config, error) {
	cert, err := nodeCertificate(s.Region, s.NodeKey, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		// Peers are known by the key the trust list names, not by a CA:
		// the national signature on the list is the only authority.
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			k, err := peerKey(raw)
			if err != nil {
				return err
			}
			l := s.Trust()
			if l == nil {
				return errors.New("no trust list held: no peer is known")
			}
			if l.RegionOfNodeKey(k) == nil {
				return errors.New("the peer's key is no region's node key in the trust list")
			}
			return nil
		},
	}, nil
}

// Serve answers on ln (a TCP listener: Serve wraps it in TLS) until
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.init(); err != nil {
		return err
	}
	cfg, err := s.TLSConfig()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+StatusPath, s.handleStatus)
	s.mu.Lock()
	s.srv = &http.Server{Handler: mux, TLSConfig: cfg, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 20 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)}
	srv := s.srv
	s.mu.Unlock()
	err = srv.Serve(tls.NewListener(ln, cfg))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

func (s *Server) limiter(region string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[region]
	if l == nil {
		r, b := s.PerPeer, s.Burst
		if r == 0 {
			r = 50
		}
		if b == 0 {
			b = 100
		}
		l = rate.NewLimiter(r, b)
		s.limiters[region] = l
	}
	return l
}

// problem is the JSON body of a refusal.
type problem struct {
	Code    string `json:"code"`
	Detail  string `json:"detail,omitempty"`
	Message string `json:"message"`
}

var statusOf = map[string]int{
	healthcode.EINVALID: http.StatusBadRequest, healthcode.ENOTFOUND: http.StatusNotFound,
	healthcode.EFORBIDDEN: http.StatusForbidden, healthcode.EUNAUTHORIZED: http.StatusUnauthorized,
	healthcode.ETOOLARGE: http.StatusRequestEntityTooLarge, healthcode.ETOOMANY: http.StatusTooManyRequests,
	healthcode.EUNAVAILABLE: http.StatusServiceUnavailable, healthcode.ETAMPERED: http.StatusServiceUnavailable,
	healthcode.ECONFLICT: http.StatusConflict,
}

func (s *Server) refuse(w http.ResponseWriter, peer string, err error) {
	code := healthcode.ErrorCode(err)
	st, ok := statusOf[code]
	if !ok {
		st = http.StatusInternalServerError
		s.Logger.Error("federation: answering a status query failed", "peer", peer, "err", err)
	} else {
		s.Logger.Warn("federation: status query refused", "peer", peer, "code", code, "detail", healthcode.ErrorDetail(err), "message", healthcode.ErrorMessage(err))
	}
	if d := healthcode.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(problem{Code: code, Detail: healthcode.ErrorDetail(err), Message: healthcode.ErrorMessage(err)})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	peer := ""
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if k, ok := r.TLS.PeerCertificates[0].PublicKey.(ed25519.PublicKey); ok {
			if l := s.Trust(); l != nil {
				if reg := l.RegionOfNodeKey(k); reg != nil {
					peer = reg.Code
				}
			}
		}
	}
	if peer == "" {
		s.refuse(w, "", healthcode.Errorfd(healthcode.EUNAUTHORIZED, "federation.unknown_peer", "no region's node key in the trust list"))
		return
	}
	if res := s.limiter(peer).Reserve(); !res.OK() || res.Delay() > 0 {
		d := res.Delay()
		res.Cancel()
		s.refuse(w, peer, &healthcode.Error{Code: healthcode.ETOOMANY, Detail: "federation.rate_limited",
			Message: fmt.Sprintf("region %s asks too often", peer), RetryAfter: max(d, time.Second)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQuerySize+1))
	if err != nil {
		s.refuse(w, peer, healthcode.Errorf(healthcode.EINVALID, "reading the query: %v", err))
		return
	}
	if len(body) > maxQuerySize {
		s.refuse(w, peer, healthcode.Errorf(healthcode.ETOOLARGE, "a query is at most %d bytes", maxQuerySize))
		return
	}
	var q Query
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&q); err != nil {
		s.refuse(w, peer, healthcode.Errorfd(healthcode.EINVALID, "federation.query_malformed", "query: %v", err))
		return
	}
	if q.From != peer {
		s.refuse(w, peer, healthcode.Errorfd(healthcode.EFORBIDDEN, "federation.wrong_peer", "the query says it is from %q, but the connection is region %s's", q.From, peer))
		return
	}
	msg, err := s.Answer(r.Context(), &q)
	if err != nil {
		s.refuse(w, peer, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(msg)
}

// Answer answers one query from an authenticated peer (q.From): verifies
// the code as one of this region's, reads the traveller's colour and the
// receipt of the log entry that decided it, logs the answer, and returns it
// signed. Returns EINVALID (ReasonNotAuthorised) for a code that is not a
// valid code of this region.
func (s *Server) Answer(ctx context.Context, q *Query) ([]byte, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if n, err := base64.StdEncoding.DecodeString(q.Nonce); err != nil || len(n) != nonceLen {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "federation.query_malformed", "the nonce is not %d bytes of base64", nonceLen)
	}
	hc, err := s.Codes.VerifyCode(q.Code, now)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonNotAuthorised, "the traveller's code does not authorise the query: %s (%s)",
			healthcode.ErrorMessage(err), healthcode.ErrorDetail(err))
	}
	if hc.Region != s.Region {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonNotAuthorised, "a code of region %s: ask that region", hc.Region)
	}
	d, err := s.Status.CurrentDecision(ctx, hc.Subject)
	if err != nil {
		return nil, err
	}
	a := &Answer{From: s.Region, To: q.From, Nonce: q.Nonce, Subject: hc.Subject, Colour: d.Colour.String(),
		Reason: d.Reason, LogIndex: d.LogIndex, Answered: now.UTC().Truncate(time.Second)}
	if a.LogIndex < 0 {
		a.LogIndex = -1
	} else {
		receipt, err := s.Receipts.Receipt(ctx, hc.Subject, a.LogIndex)
		if err != nil {
			return nil, err
		}
		a.Receipt = base64.StdEncoding.EncodeToString(receipt)
	}
	if _, err := s.Log.RecordPeerQuery(ctx, &healthcode.PeerQuery{Peer: q.From, Subject: hc.Subject, Colour: d.Colour,
		Reason: a.Reason, Outcome: healthcode.PeerAnswered, LogIndex: a.LogIndex, Time: now}); err != nil {
		return nil, err
	}
	s.Logger.Info("federation: answered a peer's status query", "peer", q.From, "log_index", a.LogIndex)
	return signAnswer(a, s.signer)
}
