package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"healthcode/federation"
	"healthcode/qr"
	"healthcode/tlog"
)

const federationUsage = `usage: healthcode federation keygen --name NAME --key FILE
       healthcode federation entry [--data DIR] [--region CODE] --endpoint URL --name NAME
       healthcode federation sign --key FILE [--previous LIST] [--revoke-key KID]... [--revoke-code CODE]... ENTRY.json... > LIST

keygen  writes a new national key pair: FILE (secret, mode 0600) and FILE.pub,
        the public key nodes (--national-key) and verifiers are given.
entry   prints a region node's entry for the trust list (JSON): its QR keys with
        their validity (rotated-out keys until their codes expire), log key,
        witnesses, node key and --endpoint (its --federation-addr, https).
        Run it on the node's data directory; it creates the node key if none.
sign    signs the trust list of the entries with the national key and prints
        it. Its serial is one more than --previous's, whose revocations it
        carries on; --revoke-key KID revokes a QR key (every code it signed,
        from the next fetch), --revoke-code CODE one code (its text).

flags:`

func runFederationCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, federationUsage)
		return exitUsage
	}
	switch args[0] {
	case "keygen":
		return runFederationKeygen(args[1:], stdout, stderr)
	case "entry":
		return runFederationEntry(args[1:], stdout, stderr)
	case "sign":
		return runFederationSign(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, federationUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "healthcode federation: unknown subcommand %q\n\n%s\n", args[0], federationUsage)
	return exitUsage
}

func runFederationKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("federation keygen", flag.ContinueOnError)
	name := fs.String("name", "", "the key's name (e.g. trust.healthcode.example)")
	path := fs.String("key", "", "file to write the secret key to (never overwritten); the public key goes to FILE.pub")
	fs.Usage = func() { fmt.Fprintln(stderr, federationUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *name == "" || *path == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	skey, vkey, err := tlog.GenerateKey(rand.Reader, *name)
	if err != nil {
		return fail(stderr, "federation keygen", err)
	}
	f, err := os.OpenFile(*path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(stderr, "federation keygen", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return fail(stderr, "federation keygen", err)
	}
	if err := f.Close(); err != nil {
		return fail(stderr, "federation keygen", err)
	}
	if err := os.WriteFile(*path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return fail(stderr, "federation keygen", err)
	}
	fmt.Fprintf(stdout, "wrote %s (secret) and %s.pub\npublic key: %s\n", *path, *path, vkey)
	return exitOK
}

func runFederationEntry(args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("federation entry", flag.ContinueOnError)
	cfg.register(fs)
	endpoint := fs.String("endpoint", "", "the https URL peers reach this node's --federation-addr at (required)")
	name := fs.String("name", "", "the region's name, as verifiers show it (required)")
	since := fs.String("since", "", "RFC 3339 time from which the current QR key signs (default: the key file's time, less 5 minutes)")
	validFor := fs.Duration("valid-for", 365*24*time.Hour, "how long the current QR key is valid")
	fs.Usage = func() { fmt.Fprintln(stderr, federationUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *endpoint == "" || *name == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if err := cfg.finish(); err != nil {
		return fail(stderr, "federation entry", err)
	}
	st, err := os.Stat(filepath.Join(cfg.DataDir, "qr-signing.pem"))
	if err != nil {
		return fail(stderr, "federation entry", fmt.Errorf("no node here (%v): give its data directory with --data", err))
	}
	from := st.ModTime().Add(-qr.ClockSkew)
	if *since != "" {
		if from, err = time.Parse(time.RFC3339, *since); err != nil {
			fmt.Fprintf(stderr, "healthcode federation entry: --since: %v\n", err)
			return exitUsage
		}
	}
	kb, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "node-key.pem"), func() ([]byte, error) {
		k, err := federation.GenerateNodeKey()
		if err != nil {
			return nil, err
		}
		return federation.MarshalNodeKey(k)
	})
	if err != nil {
		return fail(stderr, "federation entry", err)
	}
	key, err := federation.ParseNodeKey(kb)
	if err != nil {
		return fail(stderr, "federation entry", err)
	}
	r, err := regionEntryOf(cfg, key, *name, *endpoint, from, from.Add(*validFor))
	if err != nil {
		return fail(stderr, "federation entry", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fail(stderr, "federation entry", err)
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

func runFederationSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("federation sign", flag.ContinueOnError)
	keyPath := fs.String("key", "", "file holding the national secret key (required)")
	previous := fs.String("previous", "", "the list this one follows: its serial plus one, and its revocations carried on")
	validFor := fs.Duration("valid-for", 7*24*time.Hour, "how long the list is valid (verifiers refuse it afterwards: publish before)")
	out := fs.String("out", "", "write the list to this file instead of standard output")
	var revokeKeys, revokeCodes stringList
	fs.Var(&revokeKeys, "revoke-key", "the kid (base64) of a QR key to revoke, repeated")
	fs.Var(&revokeCodes, "revoke-code", "the text (HCN1:…) of a single code to revoke, repeated")
	fs.Usage = func() { fmt.Fprintln(stderr, federationUsage); fs.PrintDefaults() }
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *keyPath == "" || fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	if err := checkSecretFile(*keyPath); err != nil {
		return fail(stderr, "federation sign", err)
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return fail(stderr, "federation sign", err)
	}
	signer, err := tlog.ParseSigner(string(kb))
	if err != nil {
		return fail(stderr, "federation sign", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	l := &federation.TrustList{Serial: 1, Issued: now, Expires: now.Add(*validFor)}
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fail(stderr, "federation sign", err)
		}
		var r federation.Region
		if err := json.Unmarshal(b, &r); err != nil {
			return fail(stderr, "federation sign", fmt.Errorf("entry %s: %v", path, err))
		}
		l.Regions = append(l.Regions, r)
	}
	keyOf := func(kid string) *federation.Key {
		for i := range l.Regions {
			for j := range l.Regions[i].Keys {
				if l.Regions[i].Keys[j].KID == kid {
					return &l.Regions[i].Keys[j]
				}
			}
		}
		return nil
	}
	if *previous != "" {
		b, err := os.ReadFile(*previous)
		if err != nil {
			return fail(stderr, "federation sign", err)
		}
		text := b
		if i := bytes.LastIndex(b, []byte("\n\n")); i >= 0 {
			text = b[:i+1]
		}
		prev, err := federation.ParseTrustList(text)
		if err != nil {
			return fail(stderr, "federation sign", fmt.Errorf("--previous %s: %s", *previous, message(err)))
		}
		l.Serial = prev.Serial + 1
		for _, pr := range prev.Regions {
			for _, pk := range pr.Keys {
				k := keyOf(pk.KID)
				if k == nil {
					continue
				}
				if pk.Revoked != nil && k.Revoked == nil {
					k.Revoked = pk.Revoked
				}
				k.RevokedCodes = appendNew(k.RevokedCodes, pk.RevokedCodes...)
			}
		}
	}
	for _, kid := range revokeKeys {
		k := keyOf(kid)
		if k == nil {
			return fail(stderr, "federation sign", fmt.Errorf("--revoke-key %s: no entry lists that key", kid))
		}
		if k.Revoked == nil {
			k.Revoked = &now
		}
	}
	for _, code := range revokeCodes {
		kid, h, err := qr.CodeHash(code)
		if err != nil {
			return fail(stderr, "federation sign", fmt.Errorf("--revoke-code: %s", message(err)))
		}
		k := keyOf(base64.StdEncoding.EncodeToString(kid))
		if k == nil {
			return fail(stderr, "federation sign", fmt.Errorf("--revoke-code: its key (%s) is in no entry", base64.StdEncoding.EncodeToString(kid)))
		}
		k.RevokedCodes = appendNew(k.RevokedCodes, base64.StdEncoding.EncodeToString(h))
	}
	msg, err := federation.SignTrustList(l, signer)
	if err != nil {
		return fail(stderr, "federation sign", err)
	}
	if *out != "" {
		if err := writeFileReplacing(*out, msg, 0o644); err != nil {
			return fail(stderr, "federation sign", err)
		}
		fmt.Fprintf(stderr, "wrote trust list %d (%d regions) to %s\n", l.Serial, len(l.Regions), *out)
		return exitOK
	}
	stdout.Write(msg)
	return exitOK
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, x := range list {
			found = found || x == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
