package http

import (
	"bytes"
	"net/http"
	"net/netip"
	"testing"

	"healthcode"
)

// TestMetricsAccess: /metrics is open to a scraper on the node's own
// machine only (a loopback connection, no proxy configured or in between);
// anywhere else it needs the node's metrics token, which is not an
// official's token, and no official's token opens it.
func TestMetricsAccess(t *testing.T) {
	f := newFixture(t)
	get := func(token string, header map[string]string) answer {
		t.Helper()
		req, err := http.NewRequest("GET", f.ts.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
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
	want := func(what string, a answer, status int, detail string) {
		t.Helper()
		if a.status != status {
			t.Errorf("%s: %d, want %d\n%s", what, a.status, status, a.body)
			return
		}
		if detail != "" {
			if p := a.problem(t); p.Reason != detail {
				t.Errorf("%s: reason %q, want %q", what, p.Reason, detail)
			}
		}
	}
	// On the node's machine: open.
	want("loopback, no proxy", get("", nil), 200, "")
	if a := get("", nil); !bytes.Contains(a.body, []byte("healthcode_http_requests_total")) {
		t.Errorf("/metrics served no metrics:\n%.400s", a.body)
	}
	// Through a proxy on the same machine: loopback proves nothing.
	want("X-Forwarded-For", get("", map[string]string{"X-Forwarded-For": "203.0.113.9"}), 403, "metrics.closed")
	want("Forwarded", get("", map[string]string{"Forwarded": "for=203.0.113.9"}), 403, "metrics.closed")
	f.srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	want("behind a trusted proxy, no metrics token set", get("", nil), 403, "metrics.closed")
	f.srv.MetricsToken = "metrics-secret-0123456789"
	want("behind a proxy, no token", get("", nil), 401, "metrics.token")
	want("behind a proxy, a wrong token", get("metrics-secret-012345678x", nil), 401, "metrics.token")
	for _, r := range []healthcode.Role{healthcode.RoleAdmin, healthcode.RoleAuditor} {
		want("an official's token ("+string(r)+")", get(f.tokens[r], nil), 401, "metrics.token")
	}
	want("behind a proxy, the metrics token", get("metrics-secret-0123456789", map[string]string{"X-Forwarded-For": "203.0.113.9"}), 200, "")
	f.srv.TrustedProxies = nil
	f.srv.PublicURL = "https://hc.example.gov.cn"
	want("with a public URL, no token", get("", nil), 401, "metrics.token")
}
