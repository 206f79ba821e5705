package http

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
)

// otherServer is a second server over the fixture's node, configured by
// set before its routes are built.
func otherServer(t *testing.T, f *fixture, set func(*Server)) (*Server, *httptest.Server) {
	t.Helper()
	s := *f.srv
	s.mux, s.Registry = nil, nil
	set(&s)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &s, ts
}

// send makes one request with the given headers to base.
func send(t *testing.T, base, method, path string, hdr map[string]string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantProblem(t *testing.T, name string, a answer, status int, reason string) {
	t.Helper()
	var p Problem
	if a.status != status {
		t.Errorf("%s: status %d, want %d: %s", name, a.status, status, a.body)
		return
	}
	if err := json.Unmarshal(a.body, &p); err != nil || p.Status != status || p.Reason != reason {
		t.Errorf("%s: problem %+v (%v), want status %d reason %s: %s", name, p, err, status, reason, a.body)
	}
}

// TestEightMegabytesOfEmptyItems sends the body that once took a node from
// 100 MB to 1.75 GB: 8 MB of empty items from a lab. The decoder stops at
// item MaxBatch+1, the answer is 413, and the heap grows by far less than
// 100 MB.
func TestEightMegabytesOfEmptyItems(t *testing.T) {
	f := newFixture(t)
	var body bytes.Buffer
	body.WriteString(`{"items":[{}`)
	for body.Len() < MaxBodyBytes-3 {
		body.WriteString(`,{}`)
	}
	body.WriteString(`]}`)
	if body.Len() > MaxBodyBytes {
		t.Fatalf("body of %d bytes", body.Len())
	}
	b := body.Bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json", b)
	runtime.ReadMemStats(&after)
	wantProblem(t, "8 MB of {}", a, 413, "evidence.batch_too_large")
	const bound = 100 << 20
	if d := int64(after.HeapAlloc) - int64(before.HeapAlloc); d > bound {
		t.Errorf("the heap grew by %d MB", d>>20)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > bound {
		t.Errorf("the request allocated %d MB", d>>20)
	}
	t.Logf("heap %+d kB, allocated %d kB", (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10, (after.TotalAlloc-before.TotalAlloc)>>10)

	// MaxBatch items pass the decoder (and are refused one by one as
	// the empty items they are); one more is refused as a whole.
	for _, n := range []int{MaxBatch, MaxBatch + 1} {
		items := `{"items":[{}` + strings.Repeat(`,{}`, n-1) + `]}`
		a := f.do(t, "POST", "/api/v1/evidence", f.tokens[healthcode.RoleLab], "application/json", []byte(items))
		if n == MaxBatch && a.status != 200 {
			t.Errorf("%d items: %d %.200s", n, a.status, a.body)
		}
		if n > MaxBatch {
			wantProblem(t, strconv.Itoa(n)+" items", a, 413, "evidence.batch_too_large")
		}
	}
}

// TestBodyLimits sends each route that reads a body one byte more than
// its limit, and checks 413 with nothing changed. The limits are written
// here by hand; every route that may change state must be listed.
func TestBodyLimits(t *testing.T) {
	f := newFixture(t)
	limits := map[string]int64{
		"POST /api/v1/evidence":                     8 << 20,
		"POST /api/v1/collections":                  8 << 20,
		"POST /api/v1/rulesets":                     2 << 20,
		"POST /api/v1/overrides":                    1 << 20,
		"POST /api/v1/verify":                       64 << 10,
		"POST /api/v1/peer-status":                  64 << 10,
		"POST /api/v1/overrides/{id}/refuse":        64 << 10,
		"POST /api/v1/me/appeals":                   64 << 10,
		"POST /api/v1/appeals/{id}/answer":          64 << 10,
		"POST /api/v1/venues":                       64 << 10,
		"POST /api/v1/venues/{id}/status":           64 << 10,
		"POST /api/v1/checkins":                     64 << 10,
		"POST /api/v1/designations":                 64 << 10,
		"POST /api/v1/designations/{id}/refuse":     64 << 10,
		"POST /api/v1/trace/unmask":                 64 << 10,
		"POST /login":                               64 << 10,
		"POST /appeals":                             64 << 10,
		"POST /api/v1/units":                        64 << 10,
		"POST /api/v1/officials":                    64 << 10,
		"POST /api/v1/officials/{id}":               64 << 10,
		"POST /dashboard/log/{index}/open":          64 << 10,
		"POST /api/v1/oversight/reviews":            64 << 10,
		"POST /api/v1/oversight/reviews/{id}/close": 64 << 10,
		"POST /dashboard/alerts/{id}/review":        64 << 10,
		"POST /dashboard/reviews/{id}/confirm":      64 << 10,
		"POST /dashboard/reviews/{id}/close":        64 << 10,
	}
	// These read no body at all: what is sent is never decoded.
	noBody := []string{"POST /api/v1/rulesets/{version}/approve", "POST /api/v1/overrides/{id}/approve", "POST /api/v1/overrides/{id}/cosign",
		"POST /api/v1/designations/{id}/approve", "POST /api/v1/designations/{id}/cosign", "POST /logout",
		"POST /api/v1/officials/{id}/revoke", "POST /api/v1/officials/{id}/tokens", "POST /api/v1/official-proposals/{id}/approve",
		"POST /api/v1/official-proposals/{id}/refuse", "POST /api/v1/tokens/{id}/revoke",
		"POST /api/v1/records/{id}/confirm", "POST /api/v1/records/{id}/cosign", "POST /api/v1/records/{id}/refuse",
		"POST /api/v1/unmask/{id}/approve", "POST /api/v1/unmask/{id}/refuse", "POST /api/v1/oversight/reviews/{id}/confirm"}
	// The console's and the admin page's forms all take a few fields; a
	// rule set pasted on the admin page, and the lab's upload, more.
	limits["POST /admin/rulesets"] = 6 << 20
	limits["POST /lab/upload"] = 8 << 20
	limits["POST /sample"] = 64 << 10
	for _, rt := range f.srv.routes() {
		key := rt.Method + " " + rt.Path
		if _, set := limits[key]; !set && (strings.HasPrefix(rt.Path, "/console/") || strings.HasPrefix(rt.Path, "/admin/")) {
			limits[key] = 64 << 10
		}
		if _, listed := limits[key]; !listed && !safeMethod(rt.Method) && !slices.Contains(noBody, key) {
			t.Errorf("%s changes state and has no body limit in this test", key)
		}
	}
	roleOf := map[string]healthcode.Role{}
	for _, rt := range f.srv.routes() {
		if len(rt.Roles) > 0 {
			roleOf[rt.Method+" "+rt.Path] = rt.Roles[0]
		}
	}
	before := f.logSize(t)
	for key, limit := range limits {
		method, path, _ := strings.Cut(key, " ")
		path = strings.NewReplacer("{version}", "v1", "{id}", "1").Replace(path)
		ct := "application/json"
		if !strings.HasPrefix(path, "/api/") {
			ct = "application/x-www-form-urlencoded"
		} else if strings.HasSuffix(path, "/rulesets") {
			ct = "application/yaml"
		}
		if path == "/lab/upload" {
			ct = "multipart/form-data; boundary=x"
		}
		body := make([]byte, limit+1)
		for i := range body {
			body[i] = ' '
		}
		tok := ""
		if r, ok := roleOf[key]; ok {
			tok = f.tokens[r]
		}
		a := f.do(t, method, path, tok, ct, body)
		if a.status != 413 {
			t.Errorf("%s with %d bytes: %d %.200s", key, limit+1, a.status, a.body)
		}
	}
	if after := f.logSize(t); after != before {
		t.Errorf("the log grew from %d to %d", before, after)
	}
}

// TestStateChangesFromBrowsers checks the cookie-authenticated state
// changes: from another site (Sec-Fetch-Site, Origin, "Origin: null") 403,
// without the media type the route takes 415, and nothing recorded; the
// same with a bearer token is an API call, not a browser's.
func TestStateChangesFromBrowsers(t *testing.T) {
	f := newFixture(t)
	citizen := f.tokens[healthcode.RoleCitizen]
	cookie := sessionCookie + "=" + f.session(citizen)[0].Value
	operatorCookie := sessionCookie + "=" + f.session(f.tokens[healthcode.RoleOperator])[0].Value
	id := pageVenue(t, f, "老王面馆", true)
	code := venueCode(t, f, id)
	checkin := []byte(`{"code":"` + code.Static + `"}`)
	appeal := []byte(`{"reason":"I was never there","decision":0}`)
	before := f.logSize(t)
	for _, tt := range []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   []byte
		status int
		reason string
	}{
		{"check-in, cross-site", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, checkin, 403, "http.cross_site"},
		{"check-in, same-site other origin", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, checkin, 403, "http.cross_site"},
		{"check-in, Origin null", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Origin": "null"}, checkin, 403, "http.cross_site"},
		{"check-in, another Origin", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Origin": "https://evil.example"}, checkin, 403, "http.cross_site"},
		{"check-in, no type", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie}, checkin, 415, "http.content_type"},
		{"check-in, text/plain", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "text/plain"}, checkin, 415, "http.content_type"},
		{"check-in, a form", "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, checkin, 415, "http.content_type"},
		{"appeal, cross-site", "POST", "/api/v1/me/appeals", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, appeal, 403, "http.cross_site"},
		{"appeal, Origin null", "POST", "/api/v1/me/appeals", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Origin": "null"}, appeal, 403, "http.cross_site"},
		{"appeal, no type", "POST", "/api/v1/me/appeals", map[string]string{"Cookie": cookie}, appeal, 415, "http.content_type"},
		{"appeal, text/plain", "POST", "/api/v1/me/appeals", map[string]string{"Cookie": cookie, "Content-Type": "text/plain;charset=UTF-8"}, appeal, 415, "http.content_type"},
		{"login, Origin null", "POST", "/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "null"}, []byte("token=" + citizen), 403, "http.cross_site"},
		{"login, JSON", "POST", "/login", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, []byte(`{"token":"` + citizen + `"}`), 415, "http.content_type"},
		{"console, cross-site", "POST", "/console/lookup", map[string]string{"Cookie": operatorCookie, "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, []byte("subject=x"), 403, "http.cross_site"},
		{"console, no type", "POST", "/console/lookup", map[string]string{"Cookie": operatorCookie, "Sec-Fetch-Site": "same-origin"}, []byte("subject=x"), 415, "http.content_type"},
	} {
		wantProblem(t, tt.name, send(t, f.ts.URL, tt.method, tt.path, tt.hdr, tt.body), tt.status, tt.reason)
	}
	if after := f.logSize(t); after != before {
		t.Errorf("refused requests changed the log from %d to %d entries", before, after)
	}

	// The page's own request, and a bearer-token client whatever its
	// headers say (a cross-site page cannot send the token), go through.
	ok := send(t, f.ts.URL, "POST", "/api/v1/checkins", map[string]string{"Cookie": cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, checkin)
	if ok.status != 201 {
		t.Errorf("same-origin check-in: %d %s", ok.status, ok.body)
	}
	f.clock.Advance(24 * time.Hour)
	api := send(t, f.ts.URL, "POST", "/api/v1/checkins", map[string]string{"Authorization": "Bearer " + citizen, "Sec-Fetch-Site": "cross-site"}, checkin)
	if api.status == 403 || api.status == 415 {
		t.Errorf("bearer-token check-in refused as a browser's: %d %s", api.status, api.body)
	}
}

// TestMethodNotAllowed asks known paths with other methods.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/evidence", "POST"},
		{"GET", "/api/v1/evidence", "POST"},
		{"PUT", "/api/v1/me/code", "GET, HEAD"},
		{"POST", "/api/v1/trust", "GET, HEAD"},
		{"PATCH", "/api/v1/overrides", "GET, HEAD, POST"},
		{"DELETE", "/login", "POST"},
		{"PUT", "/verify", "GET, HEAD"},
		{"DELETE", "/api/v1/overrides/7/approve", "POST"},
	} {
		a := send(t, f.ts.URL, tt.method, tt.path, map[string]string{"Authorization": "Bearer " + f.tokens[healthcode.RoleAdmin]}, nil)
		wantProblem(t, tt.method+" "+tt.path, a, 405, "http.method")
		if got := a.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	a := send(t, f.ts.URL, "DELETE", "/api/v1/nothing", nil, nil)
	wantProblem(t, "unknown path", a, 404, "http.no_route")
	if a.header.Get("Allow") != "" {
		t.Errorf("a 404 with Allow %q", a.header.Get("Allow"))
	}
}

// TestFailedLoginsSlowedDown fails logins from one address, through the
// API and through the login form, and checks that the address is slowed
// down while others are not, and that a forwarded address counts only
// from a trusted proxy.
func TestFailedLoginsSlowedDown(t *testing.T) {
	f := newFixture(t)
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	_, ts := otherServer(t, f, func(s *Server) { s.TrustedProxies = []netip.Prefix{proxy} })
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	bad := func(addr string) answer {
		h := from(addr)
		h["Authorization"] = "Bearer hc_guess"
		return send(t, ts.URL, "GET", "/api/v1/me/code", h, nil)
	}
	good := func(addr string) answer {
		h := from(addr)
		h["Authorization"] = "Bearer " + f.tokens[healthcode.RoleCitizen]
		return send(t, ts.URL, "GET", "/api/v1/me/code", h, nil)
	}
	for i := range 10 {
		if a := bad("203.0.113.7"); a.status != 401 {
			t.Fatalf("guess %d: %d", i, a.status)
		}
	}
	for _, a := range []answer{bad("203.0.113.7"), good("203.0.113.7")} {
		wantProblem(t, "after ten failures", a, 429, "auth.too_many_failures")
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 6 {
			t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
		}
	}
	// The login form counts the same failures.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113.7", "Accept": "text/html"}
	if a := send(t, ts.URL, "POST", "/login", form, []byte("token="+f.tokens[healthcode.RoleCitizen])); a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Errorf("login form after ten failures: %d %q", a.status, a.header.Get("Retry-After"))
	}
	// Another address is not slowed down.
	if a := good("198.51.100.1"); a.status != 200 {
		t.Errorf("another address: %d %s", a.status, a.body)
	}
	// One more try every six seconds.
	f.clock.Advance(6 * time.Second)
	if a := good("203.0.113.7"); a.status != 200 {
		t.Errorf("six seconds later: %d %s", a.status, a.body)
	}
	if a := bad("203.0.113.7"); a.status != 401 {
		t.Errorf("a guess six seconds later: %d", a.status)
	}
	if a := bad("203.0.113.7"); a.status != 429 {
		t.Errorf("the next guess at once: %d", a.status)
	}

	// Guessed session cookies on the pages count the same, and a blocked
	// address learns nothing from its next guess.
	page := func(addr, tok string) answer {
		return send(t, ts.URL, "GET", "/", map[string]string{"X-Forwarded-For": addr, "Cookie": sessionCookie + "=" + tok, "Accept": "text/html"}, nil)
	}
	for i := range 10 {
		if a := page("203.0.113.8", "hc_guess"+strconv.Itoa(i)); strings.Contains(string(a.body), "hc_guess") || !strings.Contains(string(a.body), `id="token"`) {
			t.Fatalf("cookie guess %d: %d", i, a.status)
		}
	}
	sid := f.session(f.tokens[healthcode.RoleCitizen])[0].Value
	if a := page("203.0.113.8", sid); !strings.Contains(string(a.body), `id="token"`) {
		t.Errorf("the right cookie guessed from a blocked address opens the page: %d", a.status)
	}
	if a := page("198.51.100.2", sid); strings.Contains(string(a.body), `id="token"`) {
		t.Errorf("the citizen's own session from another address shows the login form")
	}

	// Without a trusted proxy, X-Forwarded-For is ignored: every guess
	// counts against the peer, whatever address it claims.
	for i := range 10 {
		h := map[string]string{"Authorization": "Bearer hc_guess", "X-Forwarded-For": "192.0.2." + strconv.Itoa(i+1)}
		if a := send(t, f.ts.URL, "GET", "/api/v1/me/code", h, nil); a.status != 401 {
			t.Fatalf("guess %d: %d", i, a.status)
		}
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "192.0.2.99"}
	if a := send(t, f.ts.URL, "POST", "/login", h, []byte("token=hc_guess")); a.status != 429 {
		t.Errorf("a login form with a made-up X-Forwarded-For: %d", a.status)
	}
}

// TestLoginLimiterBounded fills the limiter with more addresses than it
// keeps.
func TestLoginLimiterBounded(t *testing.T) {
	var l loginLimiter
	now := t0
	for i := range 3 * maxLoginAddrs {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.failed(a, now)
		if len(l.m) > maxLoginAddrs {
			t.Fatalf("%d addresses kept", len(l.m))
		}
	}
	// One IPv6 subscriber is one address.
	for i := range 20 {
		l.failed(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}), now)
	}
	if d := l.wait(netip.MustParseAddr("2001:db8::ffff"), now); d <= 0 {
		t.Errorf("twenty failures across one /64 are not slowed down")
	}
}

// TestPublicHTTPSURL runs the node as behind a reverse proxy at an https
// public URL: cookies Secure, HSTS on every answer, and the public origin
// accepted for state changes although the Host the proxy sends differs.
// Without it, neither.
func TestPublicHTTPSURL(t *testing.T) {
	f := newFixture(t)
	_, ts := otherServer(t, f, func(s *Server) { s.PublicURL = "https://hc.example.gov.cn" })
	login := func(base string, hdr map[string]string) answer {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range hdr {
			h[k] = v
		}
		return send(t, base, "POST", "/login", h, []byte("token="+f.tokens[healthcode.RoleCitizen]))
	}
	a := login(ts.URL, map[string]string{"Origin": "https://hc.example.gov.cn"})
	c := cookieNamed(a.header, sessionCookie)
	if a.status != 303 || c == nil || !c.Secure || !c.HttpOnly {
		t.Errorf("login behind the proxy: %d, cookie %+v", a.status, c)
	}
	for _, path := range []string{"/", "/healthz", "/api/v1/trust", "/verify"} {
		if h := send(t, ts.URL, "GET", path, nil, nil).header.Get("Strict-Transport-Security"); h != hstsValue {
			t.Errorf("%s: HSTS %q", path, h)
		}
	}
	// The language cookie is Secure too.
	if c := cookieNamed(send(t, ts.URL, "GET", "/verify?lang=en", nil, nil).header, langCookie); c == nil || !c.Secure {
		t.Errorf("language cookie %+v", c)
	}
	if a := login(ts.URL, map[string]string{"Origin": "http://hc.example.gov.cn"}); a.status != 403 {
		t.Errorf("the public host over http: %d", a.status)
	}
	if a := login(ts.URL, map[string]string{"Origin": "https://evil.example"}); a.status != 403 {
		t.Errorf("another origin: %d", a.status)
	}

	// Plain http with no public URL: no Secure, no HSTS.
	a = login(f.ts.URL, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if c := cookieNamed(a.header, sessionCookie); c == nil || c.Secure || a.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain http: cookie %+v, HSTS %q", c, a.header.Get("Strict-Transport-Security"))
	}
	if a := login(f.ts.URL, map[string]string{"Origin": "https://hc.example.gov.cn"}); a.status != 403 {
		t.Errorf("an origin this node does not serve: %d", a.status)
	}

	for _, bad := range []string{"hc.example.gov.cn", "ftp://hc.example.gov.cn", "https://hc.example.gov.cn/app", "https://u@hc.example.gov.cn", "https://"} {
		s := &Server{PublicURL: bad}
		if s.Check() == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}

// TestServeTLS serves https itself from a certificate and key.
func TestServeTLS(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := *f.srv
	s.mux, s.Registry = nil, nil
	s.TLSCert, s.TLSKey = certFile, keyFile
	if err := s.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Errorf("healthz over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	req, _ := http.NewRequest("POST", s.URL()+"/login", strings.NewReader("token="+f.tokens[healthcode.RoleCitizen]))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := cookieNamed(resp.Header, sessionCookie); resp.StatusCode != 303 || c == nil || !c.Secure {
		t.Errorf("login over TLS: %d, cookie %+v", resp.StatusCode, c)
	}
	// Plain http to the TLS port is not served.
	if resp, err := http.Get(strings.Replace(s.URL(), "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain http answered 200 on the TLS port")
		}
	}

	// Half a configuration, or a bad file, is refused at Open.
	for _, files := range [][2]string{{certFile, ""}, {"", keyFile}, {keyFile, certFile}, {filepath.Join(dir, "none"), keyFile}} {
		s := *f.srv
		s.mux, s.Registry = nil, nil
		s.TLSCert, s.TLSKey = files[0], files[1]
		if err := s.Open("127.0.0.1:0"); err == nil {
			s.Close(t.Context())
			t.Errorf("Open with cert %q key %q succeeded", files[0], files[1])
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "healthcode test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
