package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"healthcode"
	"healthcode/oversight"
	"healthcode/tlog"

	"github.com/prometheus/client_golang/prometheus"
)

// wireOversight builds the node's oversight runner, its metrics and, with
// --oversight-webhook, the webhook its alerts go to.
func (n *node) wireOversight(reg *prometheus.Registry) {
	m := oversight.NewMetrics(reg, n.db)
	if n.cfg.OversightHook != "" {
		n.webhook = &oversight.Webhook{URL: n.cfg.OversightHook, Region: n.cfg.Region, Store: n.db, Clock: n.engine.Clock,
			Logger: n.logger, OnDelivery: m.Delivery}
	}
	n.oversight = &oversight.Runner{Store: n.db, Entry: tlog.RecordEntry, Clock: n.engine.Clock, Integrity: n.log, Logger: n.logger, Settings: n.cfg.oversight,
		OnAlert: func(a healthcode.Alert) {
			m.Alert(a)
			if n.webhook != nil {
				n.webhook.Enqueue(a)
			}
		}}
}

// runOversight is "healthcode oversight run": one pass of the detectors over
// what the node's log and store gained since the last, on demand.
func runOversight(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, "usage: healthcode oversight run --data DIR [--json]: run the oversight detectors once over what the node's log and store gained since their last run, and print the new alerts")
		return exitUsage
	}
	fs := flag.NewFlagSet("oversight run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	cfg.register(fs)
	asJSON := fs.Bool("json", false, "print the new alerts as JSON lines")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "healthcode oversight run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := cfg.finish(); err != nil {
		fmt.Fprintf(stderr, "healthcode oversight run: %v\n", err)
		return exitUsage
	}
	// No lock: a serving node runs the same detectors; two runs at once
	// raise no alert twice (one per detector and key, in the store).
	n, err := openExistingNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "healthcode oversight run: %v\n", err)
		return exitError
	}
	defer n.close()
	alerts, err := n.oversight.Pass(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "healthcode oversight run: %v\n", err)
		return exitError
	}
	for _, a := range alerts {
		if *asJSON {
			b, _ := json.Marshal(oversight.AlertPayload{Region: cfg.Region, ID: a.ID, Detector: a.Detector, OpenedAt: a.OpenedAt,
				FirstEffectAt: a.FirstEffectAt, Summary: a.Summary, Officials: a.Officials, Units: a.Units, People: a.People, LogIndexes: a.LogIndexes})
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintf(stdout, "alert %d [%s] %s\n  officials %v, units %v, %d people, log entries %v\n", a.ID, a.Detector, a.Summary,
			a.Officials, a.Units, len(a.People), a.LogIndexes)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%d new alerts\n", len(alerts))
	}
	return exitOK
}
