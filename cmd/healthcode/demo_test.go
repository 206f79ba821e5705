package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoKeepsANodesData: the demo on a directory that holds a node's
// database changes nothing and says how to go on; only --fresh deletes it,
// naming each file it deletes.
func TestDemoKeepsANodesData(t *testing.T) {
	node := t.TempDir()
	if code, out, errs := runCmd(t, "admin", "init", "--data", node, "--unit", "x", "--admin", "a", "--admin", "b"); code != exitOK {
		t.Fatalf("admin init: exit %d\n%s%s", code, out, errs)
	}
	db := filepath.Join(node, "healthcode.db")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// Cancelled at once: were the refusal missing, the demo would not wait
	// for Ctrl-C, and the checks below would see the database replaced.
	gone, stop := context.WithCancel(context.Background())
	stop()
	var outb, errw bytes.Buffer
	code := Run(gone, []string{"demo", "--data", node, "--people", "1000", "--addr", "127.0.0.1:0"}, &outb, &errw)
	errs := errw.String()
	if code != exitError || !strings.Contains(errs, "already holds a node's data") || !strings.Contains(errs, "--fresh") {
		t.Fatalf("demo on a node's data: exit %d, want %d and a message naming --fresh:\n%s", code, exitError, errs)
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatalf("the node's database is gone: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the demo changed the node's database without --fresh")
	}

	// With --fresh it deletes the database (saying so) and builds a city.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runDemo(ctx, []string{"--fresh", "--data", node, "--people", "1000", "--addr", "127.0.0.1:0", "--log-format", "json"}, pw, errb)
		pw.Close()
	}()
	ready := false
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			ready = true
			break
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if code := <-done; code != exitOK || !ready {
		t.Fatalf("demo --fresh: exit %d, ready %v:\n%s", code, ready, errb.String())
	}
	if !strings.Contains(errb.String(), "deleting "+db) {
		t.Fatalf("demo --fresh did not name the database it deleted:\n%s", errb.String())
	}
}
