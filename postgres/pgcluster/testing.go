package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// ForTest starts a cluster for a test, closed when the test ends. Where
// pg_autoctl is missing the test is skipped, unless HEALTHCODE_TEST_POSTGRES
// or HEALTHCODE_CI asks for the PostgreSQL tests: then it fails. If the
// test fails, the end of pg_autoctl's output is logged.
func ForTest(tb testing.TB, ctx context.Context) *Cluster {
	tb.Helper()
	if _, err := FindTools(); err != nil {
		if os.Getenv("HEALTHCODE_TEST_POSTGRES") != "" || os.Getenv("HEALTHCODE_CI") != "" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	logf, err := os.Create(filepath.Join(tb.TempDir(), "pg_autoctl.log"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			b, _ := os.ReadFile(logf.Name())
			tb.Logf("the end of pg_autoctl's output:\n%s", b[max(0, len(b)-(32<<10)):])
		}
		logf.Close()
	})
	c, err := Start(ctx, logf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}
