package http

// The guards every route passes through (wrap and serve in http.go): a
// byte limit per route, cross-origin and content-type checks on state
// changes that a browser could send with the session cookie, the slow-down
// of failed logins per address, 405 for a known path asked with another
// method, and the headers of a node reached over https.

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"healthcode"
)

// Codes of the HTTP layer's own refusals, mapped in statusOf beside the
// domain's.
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
)

// Body limits. A route's limit (route.MaxBody) is what its largest lawful
// body needs; defaultBodyBytes serves every route that takes a few fields.
const (
	defaultBodyBytes = 64 << 10
	// overrideBodyBytes holds healthcode.MaxOverrideSubjects pseudonyms.
	overrideBodyBytes = 1 << 20
	// ruleSetBodyBytes is above the rule set parser's own 1 MiB bound,
	// which answers with the clearer message.
	ruleSetBodyBytes = 2 << 20
)

// Media types a state change may carry.
const (
	mediaJSON = "application/json"
	mediaForm = "application/x-www-form-urlencoded"
)

// safeMethod reports a method that changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// mediaType returns the media type of the request's body, lower case,
// without parameters; "" if none or malformed.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "malformed"
	}
	return mt
}

// checkMediaType refuses a body of another type than want with 415. An
// empty Content-Type passes only if emptyOK (a bearer-token client of the
// API; a browser always says what it sends).
func checkMediaType(r *http.Request, want string, emptyOK bool) error {
	got := mediaType(r)
	if got == want || got == "" && emptyOK {
		return nil
	}
	if got == "" {
		return healthcode.Errorfd(codeUnsupportedMedia, "http.content_type", "send %s, with its Content-Type", want)
	}
	return healthcode.Errorfd(codeUnsupportedMedia, "http.content_type", "send %s, not %q", want, r.Header.Get("Content-Type"))
}

// parseForm reads a posted form: a body above the route's limit is that
// (413), anything else unreadable EINVALID.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return healthcode.Errorfd(healthcode.EINVALID, "http.form", "malformed form")
	}
	return nil
}

// crossOrigin refuses a state change that a browser sent from another
// origin (Sec-Fetch-Site, else Origin against Host; "Origin: null" is
// another origin). The public URL of a node behind a reverse proxy is
// trusted as its own origin.
func (s *Server) crossOrigin(r *http.Request) error {
	if err := s.csrf.Check(r); err != nil {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "http.cross_site", "a state change from another site is refused: %v", err)
	}
	return nil
}

// secure reports a request that reached the node over https: served with
// TLS here, or through a reverse proxy at an https public URL.
func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.publicHTTPS }

// allowedMethods lists the methods with a route at r's path, for a 405's
// Allow header; none if the path is unknown.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// noRoute answers a request no route takes: 405 with Allow when the path
// is known, 404 otherwise.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if allow := s.allowedMethods(r); len(allow) > 0 && !slices.Contains(allow, r.Method) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return healthcode.Errorfd(codeMethodNotAllowed, "http.method", "%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, ", "))
	}
	return healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_route", "no such page or endpoint: %s %s", r.Method, r.URL.Path)
}

// clientAddr is the address a request comes from: the peer, or, when the
// peer is a trusted reverse proxy, the last address in X-Forwarded-For
// that is not itself a trusted proxy. No other header is trusted.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !s.trustedProxy(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		if a = a.Unmap(); !s.trustedProxy(a) {
			return a
		}
	}
	return addr
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Failed logins: each address may fail loginBurst times at once, then one
// more every loginEvery; beyond that its logins are refused with 429 and
// Retry-After before the token is even looked at. IPv6 addresses count by
// /64, what one subscriber usually holds.
const (
	loginBurst = 10
	loginEvery = 6 * time.Second
	// maxLoginAddrs bounds the addresses remembered.
	maxLoginAddrs = 10_000
)

// loginLimiter counts failed logins per address, in a bounded map.
type loginLimiter struct {
	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
}

func loginKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// wait returns how long the address must wait before its next login; 0
// if it may try now.
func (l *loginLimiter) wait(a netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[loginKey(a)]
	if lim == nil {
		return 0
	}
	if tokens := lim.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) * float64(loginEvery))
	}
	return 0
}

// failed records a failed login from the address.
func (l *loginLimiter) failed(a netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := loginKey(a)
	lim := l.m[k]
	if lim == nil {
		if l.m == nil {
			l.m = make(map[netip.Addr]*rate.Limiter)
		}
		if len(l.m) >= maxLoginAddrs {
			l.sweep(now)
		}
		lim = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		l.m[k] = lim
	}
	lim.AllowN(now, 1)
}

// sweep forgets the addresses that have recovered all their tries; if the
// map is still full, it forgets half of it, those that failed longest ago
// first being no better known than any other.
func (l *loginLimiter) sweep(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= loginBurst {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxLoginAddrs/2 {
			break
		}
		delete(l.m, k)
	}
}

// checkLogin refuses a login from an address that failed too often.
func (s *Server) checkLogin(r *http.Request) error {
	if d := s.logins.wait(s.clientAddr(r), s.Clock.Now()); d > 0 {
		e := healthcode.Errorfd(healthcode.ETOOMANY, "auth.too_many_failures", "too many failed logins from this address: try again in %s", d.Round(time.Second))
		e.RetryAfter = d
		return e
	}
	return nil
}

// loginFailed records a failed login from r's address.
func (s *Server) loginFailed(r *http.Request) { s.logins.failed(s.clientAddr(r), s.Clock.Now()) }

// hstsValue is the Strict-Transport-Security of a node reached over https.
const hstsValue = "max-age=31536000"

// secureCookies marks every cookie of the response Secure, whatever sets
// it and whatever it holds: a node reached over https never lets a cookie
// travel over plain http.
func secureCookies(h http.Header) {
	vs := h.Values("Set-Cookie")
	if len(vs) == 0 {
		return
	}
	h.Del("Set-Cookie")
	for _, v := range vs {
		c, err := http.ParseSetCookie(v)
		if err == nil && !c.Secure {
			c.Secure = true
			if s := c.String(); s != "" {
				v = s
			}
		}
		h.Add("Set-Cookie", v)
	}
}

// errTLSFiles is returned by Open for half a TLS configuration.
var errTLSFiles = errors.New("http.Open: give both the TLS certificate and its key, or neither")

// publicOrigin checks a public URL and returns its origin.
func publicOrigin(u string) (origin string, https bool, err error) {
	pu, perr := url.Parse(u)
	if perr != nil || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") || pu.User != nil ||
		(pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.Fragment != "" {
		return "", false, fmt.Errorf("public URL %q: want scheme://host[:port], such as https://hc.example.gov.cn", u)
	}
	return pu.Scheme + "://" + pu.Host, pu.Scheme == "https", nil
}
