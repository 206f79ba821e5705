package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"healthcode"
)

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "rotate-key" {
		return runRotateKey(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "token" {
		fmt.Fprintln(stderr, "usage: healthcode admin token --role ROLE --name NAME [--unit UNIT] [--subject PSEUDONYM] [--id-number ID]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	cfg := defaultConfig()
	fs := flag.NewFlagSet("admin token", flag.ContinueOnError)
	cfg.register(fs)
	role := fs.String("role", "", "role of the token: citizen, verifier, venue, lab, clinic, epidemiologist, operator, approver, auditor, admin, peer")
	name := fs.String("name", "", "name of the official or institution, as the log will show it")
	unit := fs.String("unit", "", "the official's unit")
	id := fs.String("id", "", "stable id of the official or institution (default: the name)")
	subject := fs.String("subject", "", "citizen tokens: the person's pseudonym")
	idNumber := fs.String("id-number", "", "citizen tokens: the person's ID number (instead of --subject)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: healthcode admin token --role ROLE --name NAME [flags]\n\nCreates a bearer token and prints it once; only its hash is stored.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	if err := cfg.finish(); err != nil {
		return fail(stderr, "admin token", err)
	}
	r, err := healthcode.ParseRole(*role)
	if err != nil {
		return fail(stderr, "admin token", err)
	}
	n, err := openNode(ctx, cfg, healthcode.SystemClock{}, stderr)
	if err != nil {
		return fail(stderr, "admin token", err)
	}
	defer n.close()
	p := &healthcode.Principal{ID: *id, Name: *name, Role: r, Unit: *unit, Subject: *subject}
	if *idNumber != "" {
		err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
			person, err := tx.PersonByIDHash(ctx, n.engine.Keys.IDHash(*idNumber))
			if err == nil {
				p.Subject = person.Pseudonym
			}
			return err
		})
		if err != nil {
			return fail(stderr, "admin token", err)
		}
	}
	tok, err := n.engine.CreateToken(ctx, p)
	if err != nil {
		return fail(stderr, "admin token", err)
	}
	fmt.Fprintln(stdout, tok)
	return exitOK
}
