// Package http serves a healthcode node: the JSON REST API under /api/v1
// (described by the embedded OpenAPI document), the server-rendered pages,
// /healthz and /metrics. It authenticates callers, authorizes every route
// from one table, and maps domain errors to application/problem+json. It
// never decides a colour or touches storage directly: it calls the domain's
// services.
package http

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"healthcode"

	"github.com/prometheus/client_golang/prometheus"
)

// Authenticator maps a bearer token to a caller.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*healthcode.Principal, error)
}

// CodeSigner signs and verifies health QR codes.
type CodeSigner interface {
	SignCode(c *healthcode.HealthCode) (string, error)
	VerifyCode(text string, now time.Time) (*healthcode.HealthCode, error)
	// TrustList returns the public keys a checkpoint needs, as JSON.
	TrustList() []byte
	// PNG and SVG render a code's text as an image.
	PNG(text string, size int) ([]byte, error)
	SVG(text string) ([]byte, error)
}

// RuleSetPublisher tells the rule set in force.
type RuleSetPublisher interface {
	ActiveRuleSet() (healthcode.RuleSet, *healthcode.RuleSetRecord, error)
}

// Health reports integrity problems for /healthz; nil means healthy.
type Health func(ctx context.Context) error

// Server is the HTTP face of a node.
type Server struct {
	Auth     Authenticator
	Codes    healthcode.CodeService
	Evidence healthcode.EvidenceService
	// Collections records samplers' collections (http/collection.go).
	Collections healthcode.CollectionService
	Rules       RuleSetPublisher
	Signer      CodeSigner
	Log         LogReader
	Venues      VenueService
	Governance  GovernanceService
	// Peers asks other regions for travellers' colours; nil on a node
	// with no trust list.
	Peers healthcode.PeerStatusService
	// Oversight serves auditors' alerts and reviews (http/oversight.go).
	Oversight healthcode.OversightService
	// Retention says when each item of a person's data is deleted.
	Retention healthcode.Retention
	Health    Health
	// Degraded, if set, reports what stops writes but not reads (a full or
	// read-only disk): /healthz says "degraded" and a metric is 1.
	Degraded Health
	// Integrity, if set, is what the node's self-audit found: no code is
	// signed for a person it flags (or for anyone while the log itself is
	// in doubt), cached or not.
	Integrity healthcode.Integrity
	Clock     healthcode.Clock
	Region    string
	// Authority is the name of the body that issues the node's codes,
	// shown on every page; "" names the health commission of Region.
	Authority string
	Logger    *slog.Logger
	// QRValidity is how long a signed QR is valid (short: a screenshot
	// must go stale).
	QRValidity time.Duration
	// Registry collects the node's metrics; Server adds its own.
	Registry *prometheus.Registry
	// State is what /metrics reads of the node at each scrape (nil: none).
	State func(context.Context) NodeState
	// MetricsToken, if set, is the bearer token that opens /metrics to a
	// scraper elsewhere than the node's own machine (see serveMetrics).
	MetricsToken string

	// PublicURL is where people reach the node (scheme://host[:port]),
	// when that is not the address it listens on: behind a reverse proxy.
	// Its origin is trusted for state changes; if it is https, every
	// cookie is Secure and every answer carries HSTS.
	PublicURL string
	// TLSCert and TLSKey are PEM files: with them Open serves https
	// itself (Secure cookies and HSTS follow).
	TLSCert, TLSKey string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (for the slow-down of failed logins); no other header of
	// theirs is trusted.
	TrustedProxies []netip.Prefix
	// MaxConns and MaxConnsPerClient bound the open connections, in all and
	// per client address (0: DefaultMaxConns, DefaultMaxConnsPerClient;
	// a negative value is no bound); see connlimit.go.
	MaxConns, MaxConnsPerClient int
	// CheckInBusy, if set, is asked before any work is done for a
	// check-in (its token included): an error refuses it at once
	// (Engine.CheckInBusy: the queue's expected wait past its budget).
	CheckInBusy func() error

	mux         *http.ServeMux
	codes       *codeCache
	renders     *renderSlots // admission of QR image renders (qrimage.go)
	admission   *admission   // admission per class of route (admission.go)
	metrics     *metrics
	csrf        *http.CrossOriginProtection
	publicHTTPS bool
	logins      *loginLimiter
	srv         *http.Server
	ln          net.Listener
	tls         bool
}

// MaxBodyBytes caps the largest request body: a chunk of a batch import
// (MaxBatch items). Other routes have smaller limits (route.MaxBody).
const MaxBodyBytes = 8 << 20

// Handler builds the routes; call once before serving. It panics on a
// malformed PublicURL: Check it first (cmd does, at start).
func (s *Server) Handler() http.Handler {
	if s.mux != nil {
		return s.mux
	}
	s.csrf = http.NewCrossOriginProtection()
	s.logins = &loginLimiter{}
	if s.PublicURL != "" {
		origin, https, err := publicOrigin(s.PublicURL)
		if err != nil {
			panic(err)
		}
		if err := s.csrf.AddTrustedOrigin(origin); err != nil {
			panic(err)
		}
		s.publicHTTPS = https
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.QRValidity == 0 {
		s.QRValidity = 5 * time.Minute
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.codes = newCodeCache()
	s.renders = newRenderSlots()
	s.metrics = newMetrics(s.Registry, s.Health, s.Degraded, s.State, s.Clock)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		if rt.MaxBody == 0 {
			rt.MaxBody = defaultBodyBytes
		}
		if rt.Body == "" && !safeMethod(rt.Method) {
			rt.Body = mediaForm
			if strings.HasPrefix(rt.Path, "/api/") {
				rt.Body = mediaJSON
			}
		}
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(route{Path: "/", MaxBody: defaultBodyBytes, h: s.noRoute}))
	return s.mux
}

// Check reports a configuration the server cannot serve with.
func (s *Server) Check() error {
	if s.PublicURL != "" {
		if _, _, err := publicOrigin(s.PublicURL); err != nil {
			return err
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return errTLSFiles
	}
	return nil
}

// Invalidate drops cached codes of people whose decisions changed.
func (s *Server) Invalidate(subjects []string) {
	if s.codes != nil {
		s.codes.drop(subjects)
	}
}

// Open listens on addr (":0" picks a port) and serves in the background:
// https if TLSCert and TLSKey are set, else plain http.
func (s *Server) Open(addr string) error {
	if err := s.Check(); err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return fmt.Errorf("http.Open: TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http.Open: %w", err)
	}
	h := s.Handler()
	ln = s.limit(ln, tlsConfig == nil)
	s.ln = ln
	s.srv = &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if tlsConfig != nil {
		s.tls = true
		go s.srv.ServeTLS(ln, "", "")
	} else {
		go s.srv.Serve(ln)
	}
	return nil
}

// URL returns the server's base URL once open.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Close shuts the server down gracefully within ctx.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// handlerFunc is a route's handler; an error becomes a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error

// route is one line of the authorization table.
type route struct {
	Method string
	Path   string
	// Roles may call the route; nil means anyone, authenticated or not.
	Roles []healthcode.Role
	// Page routes take the token from the session cookie and answer in HTML.
	Page bool
	// MaxBody is the route's body limit in bytes (default
	// defaultBodyBytes).
	MaxBody int64
	// Body is the media type a state change sends (default: JSON under
	// /api/, a form elsewhere); required of every call not made with a
	// bearer token.
	Body string
	// OwnToken routes check a bearer token themselves (/metrics: the
	// scraper's --metrics-token, not an official's).
	OwnToken bool
	h        handlerFunc
}

func (rt route) allows(role healthcode.Role) bool {
	if rt.Roles == nil {
		return true
	}
	for _, r := range rt.Roles {
		if r == role {
			return true
		}
	}
	return false
}

func (s *Server) wrap(rt route) http.Handler {
	class := s.admissionFor(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200, secure: s.secure(r)}
		if sw.secure {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		var err error
		if class != nil {
			var done func()
			if done, err = class.admit(r.Context()); err == nil {
				defer done()
			}
		}
		if err == nil {
			err = s.serve(sw, r, rt)
		}
		if err != nil {
			s.problem(sw, r, err)
		}
		s.metrics.observe(rt.Method+" "+rt.Path, sw.status, time.Since(start))
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBody)
	// A state change without a bearer token is one a browser could send,
	// with the session cookie: from this origin only, and with the body
	// the route expects (a form from another site, or text/plain, is
	// neither).
	bearer := r.Header.Get("Authorization") != ""
	if !safeMethod(r.Method) && !bearer {
		if err := s.crossOrigin(r); err != nil {
			return err
		}
	}
	// The caller: the bearer token's, or on a page the session cookie's
	// (http/session.go). A failed one counts toward the address's failed
	// logins, as a guessed token would.
	var p *healthcode.Principal
	token, cookie := "", false
	if h := r.Header.Get("Authorization"); h != "" && !rt.OwnToken {
		var ok bool
		if token, ok = strings.CutPrefix(h, "Bearer "); !ok {
			return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.scheme", "use Authorization: Bearer <token>")
		}
	} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && rt.Page {
		cookie = true
	}
	if token != "" || cookie {
		if err := s.checkLogin(r); err != nil {
			return err
		}
		var err error
		if cookie {
			p, err = s.cookieCaller(r)
		} else {
			p, err = s.Auth.Authenticate(r.Context(), token)
		}
		if err != nil {
			if healthcode.ErrorCode(err) == healthcode.EUNAUTHORIZED {
				s.loginFailed(r)
			}
			return err
		}
		r = r.WithContext(healthcode.NewContextWithPrincipal(r.Context(), p))
	}
	if rt.Roles != nil {
		if p == nil {
			return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.required", "this endpoint needs a bearer token")
		}
		if !rt.allows(p.Role) {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "a %s may not call %s %s", p.Role, rt.Method, rt.Path)
		}
	}
	if !safeMethod(r.Method) && rt.Body != "" {
		if err := checkMediaType(r, rt.Body, bearer); err != nil {
			return err
		}
	}
	return rt.h(w, r, p)
}

// statusWriter records the status, and marks the cookies of an answer
// over https Secure.
type statusWriter struct {
	http.ResponseWriter
	status int
	secure bool
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if w.secure {
			secureCookies(w.Header())
		}
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOf maps error codes to HTTP statuses: the one table.
var statusOf = map[string]int{
	healthcode.EINVALID:      http.StatusBadRequest,
	healthcode.EUNAUTHORIZED: http.StatusUnauthorized,
	healthcode.EFORBIDDEN:    http.StatusForbidden,
	healthcode.ENOTFOUND:     http.StatusNotFound,
	healthcode.ECONFLICT:     http.StatusConflict,
	healthcode.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	healthcode.EUNAVAILABLE:  http.StatusServiceUnavailable,
	healthcode.ETAMPERED:     http.StatusServiceUnavailable,
	healthcode.ETOOMANY:      http.StatusTooManyRequests,
	healthcode.EINTERNAL:     http.StatusInternalServerError,
	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	codeUnsupportedMedia:     http.StatusUnsupportedMediaType,
}

// Problem is an RFC 9457 problem body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Reason is the stable sub-code, e.g. "evidence.future_time".
	Reason string `json:"reason,omitempty"`
}

func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	err = bodyTooLarge(err)
	if s.pageProblem(w, r, err) {
		return
	}
	code := healthcode.ErrorCode(err)
	status := statusOf[code]
	if code == healthcode.EINTERNAL {
		s.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable && code != healthcode.ETAMPERED {
		// A detected tampering lasts until an operator resolves it: no
		// point asking clients to retry in seconds.
		w.Header().Set("Retry-After", "5")
	}
	if d := healthcode.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="healthcode"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{
		Type:   "https://healthcode.invalid/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: healthcode.ErrorMessage(err),
		Code:   code,
		Reason: healthcode.ErrorDetail(err),
	})
}

// bodyTooLarge turns the error of a body read past its route's limit into
// ETOOLARGE.
func bodyTooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return healthcode.Errorfd(healthcode.ETOOLARGE, "http.body_too_large", "request body above %d bytes", mbe.Limit)
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON value into v, refusing unknown fields and
// trailing data.
func decodeJSON(r *http.Request, v any) error {
	if err := checkMediaType(r, mediaJSON, true); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return healthcode.Errorfd(healthcode.EINVALID, "http.malformed_json", "malformed JSON body: %v", err)
	}
	if dec.More() {
		return healthcode.Errorfd(healthcode.EINVALID, "http.malformed_json", "malformed JSON body: trailing data")
	}
	return nil
}
