// Package pgtest gives tests a fresh PostgreSQL database each, made from a
// migrated template (CREATE DATABASE … TEMPLATE), so no test sees
// another's rows and none pays for the migrations.
//
// HEALTHCODE_TEST_POSTGRES names the server: a postgres:// URL of a role
// that may create databases, or "1" for the local default (DefaultURL, the
// role .ci/run creates). With it or HEALTHCODE_CI set, a server that cannot
// be reached fails the test; with neither, PostgreSQL tests are skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"healthcode/postgres"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultURL is the server "1" stands for: the local cluster, with the role
// and database .ci/run creates.
const DefaultURL = "postgres://healthcode:healthcode@localhost:5432/healthcode?sslmode=disable"

// ServerURL returns the URL of the test server, or skips the test (fails it
// under HEALTHCODE_CI) when none is configured.
func ServerURL(t testing.TB) string {
	t.Helper()
	v := os.Getenv("HEALTHCODE_TEST_POSTGRES")
	switch v {
	case "":
		if os.Getenv("HEALTHCODE_CI") != "" {
			t.Fatal("HEALTHCODE_CI is set but HEALTHCODE_TEST_POSTGRES is not: PostgreSQL tests must run in CI")
		}
		t.Skip("HEALTHCODE_TEST_POSTGRES is not set: no PostgreSQL server to test against")
	case "1":
		return DefaultURL
	}
	return v
}

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// URL returns the URL of a new database, migrated, for this test alone; it
// is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	ctx := context.Background()
	tmplOnce.Do(func() { tmplName, tmplErr = template(ctx, server) })
	if tmplErr != nil {
		t.Fatalf("pgtest: template database: %v", tmplErr)
	}
	name := "hct_" + randomHex(8)
	if err := adminExec(ctx, server, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tmplName)); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(context.Background(), server, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return WithDatabase(server, name)
}

// Open returns a store on a new database for this test alone, closed and
// dropped when the test ends.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// WithDatabase returns the server URL naming another database.
func WithDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func adminExec(ctx context.Context, server, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("cannot reach the PostgreSQL server named by HEALTHCODE_TEST_POSTGRES: %w", err)
	}
	defer c.Close(context.Background())
	for try := 0; ; try++ {
		_, err = c.Exec(ctx, sql)
		// CREATE DATABASE refuses while another one is being copied from
		// the same template, and DROP … WITH (FORCE) while an autovacuum
		// worker it may not end (without pg_signal_backend) is in the
		// database: both are a matter of moments.
		if err == nil || try == 50 || pgCode(err) != "55006" && pgCode(err) != "42501" {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pgCode(err error) string {
	if pe, ok := err.(*pgconn.PgError); ok {
		return pe.Code
	}
	return ""
}

// template makes (once per schema, shared by every test process) a
// database with the migrations applied, marked as a template when ready.
// Its name carries a digest of the migrations, so a changed schema gets a
// new one.
func template(ctx context.Context, server string) (string, error) {
	h := sha256.New()
	names, _ := fs.Glob(postgres.Migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(postgres.Migrations, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	name := "hct_template_" + hex.EncodeToString(h.Sum(nil))[:16]
	c, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", fmt.Errorf("cannot reach the PostgreSQL server named by HEALTHCODE_TEST_POSTGRES: %w", err)
	}
	defer c.Close(context.Background())
	ready := func() (exists, done bool, err error) {
		var tmpl bool
		err = c.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&tmpl)
		if err == pgx.ErrNoRows {
			return false, false, nil
		}
		return err == nil, tmpl, err
	}
	exists, done, err := ready()
	if err != nil || done {
		return name, err
	}
	if !exists {
		if _, err := c.Exec(ctx, `CREATE DATABASE `+name); err != nil && pgCode(err) != "42P04" {
			return "", err
		} else if err == nil {
			db, err := postgres.Open(ctx, WithDatabase(server, name))
			if err != nil {
				return "", err
			}
			db.Close()
			_, err = c.Exec(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE true`)
			return name, err
		}
	}
	// Another process is making it.
	for range 600 {
		time.Sleep(100 * time.Millisecond)
		if _, done, err := ready(); err != nil || done {
			return name, err
		}
	}
	return "", fmt.Errorf("template database %s was never finished (drop it)", name)
}
