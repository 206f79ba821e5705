package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"healthcode"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode serve [flags]\n\nRuns a node: the REST API, the pages, re-evaluation of due decisions and checkpoint signing.\nOn first start it creates its keys in DATA and puts the baseline rule set in force.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := cfg.finish(); err != nil {
		return fail(stderr, "serve", err)
	}
	unlock, err := lockData(cfg.DataDir)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	defer unlock()
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	defer n.close()
	if err := n.publishBaselineIfNone(ctx); err != nil {
		return fail(stderr, "serve", err)
	}
	if err := n.serve(ctx, stdout); err != nil {
		return fail(stderr, "serve", err)
	}
	return exitOK
}

// serve listens, runs the background jobs and blocks until ctx ends, then
// shuts down gracefully.
func (n *node) serve(ctx context.Context, stdout io.Writer) error {
	if err := n.server.Open(n.cfg.Addr); err != nil {
		return err
	}
	if err := n.listenFederation(); err != nil {
		n.server.Close(context.Background())
		return err
	}
	noteServing(n.cfg.DataDir, n.server.URL())
	n.logger.Info("serving", "url", n.server.URL(), "public_url", n.cfg.PublicURL, "region", n.cfg.Region, "db", displayDB(n.cfg.DB), "federation", n.federationEndpoint())
	bg, cancel := context.WithCancel(ctx)
	n.runFederation(bg)
	done := make(chan struct{})
	go func() { n.background(bg); close(done) }()
	<-ctx.Done()
	cancel()
	<-done
	shut, cancelShut := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShut()
	return n.server.Close(shut)
}
