package http

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// conformance checks every answer the package's tests get through
// fixture.do against the OpenAPI document, with kin-openapi: the operation
// must be documented, the status listed for it (not only "default"), and
// the body must match the schema of that status and media type. It records
// which operations answered 2xx, for TestMain's check that every operation
// of the route table was seen answering and matching.
type conformance struct {
	doc    *openapi3.T
	router routers.Router

	mu sync.Mutex
	ok map[string]bool // "METHOD /doc/path" answered 2xx and matched
}

var openAPIConformance = sync.OnceValues(func() (*conformance, error) {
	// The node's images are bytes to the document, as octet-stream is.
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("image/svg+xml", openapi3filter.FileBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPI)
	if err != nil {
		return nil, fmt.Errorf("loading openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &conformance{doc: doc, router: router, ok: map[string]bool{}}, nil
})

// check validates one live answer to req; a mismatch fails t.
func (c *conformance) check(t *testing.T, req *http.Request, a answer) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") && !strings.HasPrefix(req.URL.Path, "/log/") &&
		req.URL.Path != "/healthz" && req.URL.Path != "/metrics" {
		return // pages: not part of the API document
	}
	if a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotFound && a.header.Get("Content-Type") == "" {
		return
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if a.status == http.StatusNotFound || a.status == http.StatusMethodNotAllowed {
			return // no such operation, and the node says so
		}
		t.Errorf("openapi: %s %s answered %d but is not in the document: %v", req.Method, req.URL.Path, a.status, err)
		return
	}
	op := req.Method + " " + route.Path
	// HEALTHCODE_OPENAPI_DUMP=FILE appends every answer to FILE (JSON
	// lines), for whoever writes the document's schemas from real answers.
	if f := os.Getenv("HEALTHCODE_OPENAPI_DUMP"); f != "" {
		c.mu.Lock()
		if w, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			line, _ := json.Marshal(map[string]any{"op": op, "status": a.status, "ct": a.header.Get("Content-Type"), "body": string(a.body)})
			w.Write(append(line, '\n'))
			w.Close()
		}
		c.mu.Unlock()
	}
	if route.Operation.Responses.Status(a.status) == nil {
		t.Errorf("openapi: %s answered %d, a status the document does not list for it\n%.300s", op, a.status, a.body)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 a.status,
		Header:                 a.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		t.Errorf("openapi: %s answered %d with a body the document does not describe: %v\n%.600s", op, a.status, err, a.body)
		return
	}
	if a.status >= 200 && a.status < 300 {
		c.mu.Lock()
		c.ok[op] = true
		c.mu.Unlock()
	}
}

// validateAnswer is what fixture.do calls for each answer.
func validateAnswer(t *testing.T, req *http.Request, body []byte, a answer) {
	t.Helper()
	c, err := openAPIConformance()
	if err != nil {
		t.Fatal(err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	c.check(t, r, a)
}

// docPaths maps a route's pattern to the document's paths: a route that
// takes the rest of the path ({path...}) is documented as one path per
// depth under its prefix.
func docPaths(doc *openapi3.T, pattern string) []string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	if prefix, ok := strings.CutSuffix(p, "{path...}"); ok {
		var out []string
		for dp := range doc.Paths.Map() {
			if strings.HasPrefix(dp, prefix) {
				out = append(out, dp)
			}
		}
		sort.Strings(out)
		return out
	}
	return []string{p}
}

// everyOperationChecked is TestMain's check after a full run (no -run):
// every operation of the route table is documented and answered 2xx, with
// a body matching the document, at least once in the package's tests. A
// route added without its document entry, or documented but never called
// by a test, fails the run.
func everyOperationChecked(routes []route) []string {
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() != "" {
		return nil
	}
	if f := flag.Lookup("test.short"); f != nil && f.Value.String() == "true" {
		return nil
	}
	c, err := openAPIConformance()
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for _, rt := range routes {
		paths := docPaths(c.doc, rt.Path)
		seen := false
		for _, p := range paths {
			item := c.doc.Paths.Value(p)
			if item == nil || item.GetOperation(rt.Method) == nil {
				missing = append(missing, fmt.Sprintf("%s %s: not in openapi.json", rt.Method, p))
				continue
			}
			seen = seen || c.ok[rt.Method+" "+p]
		}
		if len(paths) == 0 {
			missing = append(missing, fmt.Sprintf("%s %s: not in openapi.json", rt.Method, rt.Path))
		} else if !seen {
			missing = append(missing, fmt.Sprintf("%s %s: no test got a 2xx answer from it that the document describes", rt.Method, rt.Path))
		}
	}
	slices.Sort(missing)
	return missing
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if missing := everyOperationChecked((&Server{}).apiRoutes()); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the OpenAPI conformance check (openapi_conformance_test.go):\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// TestOpenAPIDocument: the document is valid OpenAPI, every operation
// describes its answers (each 2xx with a body schema, unless it has none;
// its problems as application/problem+json), and the tile routes match the
// C2SP tlog-tiles paths a client asks for.
func TestOpenAPIDocument(t *testing.T) {
	c, err := openAPIConformance()
	if err != nil {
		t.Fatal(err)
	}
	for p, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + p
			has2xx := false
			for status, ref := range op.Responses.Map() {
				if status == "default" {
					continue
				}
				r := ref.Value
				if r == nil || r.Description == nil || *r.Description == "" {
					t.Errorf("%s %s: no description", name, status)
					continue
				}
				if strings.HasPrefix(status, "2") {
					has2xx = true
					if status != "204" && len(r.Content) == 0 {
						t.Errorf("%s %s: no body described", name, status)
					}
					for mt, m := range r.Content {
						if strings.Contains(mt, "json") && (m.Schema == nil || m.Schema.Value == nil ||
							(m.Schema.Value.Type == nil && len(m.Schema.Value.Properties) == 0 && len(m.Schema.Value.AllOf) == 0 && len(m.Schema.Value.OneOf) == 0)) {
							t.Errorf("%s %s %s: no schema for the body", name, status, mt)
						}
					}
				}
				if strings.HasPrefix(status, "4") || strings.HasPrefix(status, "5") && p != "/healthz" {
					if r.Content.Get("application/problem+json") == nil {
						t.Errorf("%s %s: not described as a problem", name, status)
					}
				}
			}
			if !has2xx {
				t.Errorf("%s: no 2xx answer described", name)
			}
		}
	}
	// Real tile paths (c2sp.org/tlog-tiles) find a documented route.
	for _, p := range []string{"/log/tile/0/000", "/log/tile/0/x001/234", "/log/tile/0/005.p/7", "/log/tile/1/x001/x002/003.p/255",
		"/log/tile/entries/000", "/log/tile/entries/x001/234.p/12", "/log/tile/2/000.p/1"} {
		req, _ := http.NewRequest("GET", "http://node"+p, nil)
		if _, _, err := c.router.FindRoute(req); err != nil {
			t.Errorf("tile path %s: %v", p, err)
		}
	}
	for _, p := range []string{"/log/tile/0/abc", "/log/tile/x/000", "/log/tile/0/000.q/1"} {
		req, _ := http.NewRequest("GET", "http://node"+p, nil)
		route, params, err := c.router.FindRoute(req)
		if err != nil {
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err == nil {
			t.Errorf("%s: not a tile path, yet the document accepts it", p)
		}
	}
}
