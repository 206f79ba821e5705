package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"healthcode"
	"healthcode/tlog"

	"golang.org/x/mod/sumdb/note"
)

const witnessUsage = `usage:
  healthcode witness --generate-key NAME [--key FILE]
      write a new witness key pair: the secret key to FILE (default witness.key,
      mode 0600, never overwritten) and the public cosignature key to FILE.pub
  healthcode witness --key FILE --print-key
      print the witness's public cosignature key (C2SP cosignature/v1, type 0x04)
  healthcode witness --key FILE --log-key FILE [--log-key FILE...] [--state FILE] [--addr ADDR]
      run a witness: cosign a log's checkpoints only if each extends the last one
      cosigned (C2SP tlog-witness protocol, POST /add-checkpoint)

A witness is run by a second authority (an oversight body, a court) so that a
node cannot show citizens a rewritten history: it refuses any checkpoint that is
not consistent with what it cosigned before, and remembers that in --state
(written before each cosignature is released). --log-key is a log's public note
key (the node's DATA/log-signing.pub); give it once per log witnessed. A node
asks the witness with --witness URL=FILE.pub. Cosignatures follow C2SP
tlog-cosignature (cosignature/v1: Ed25519, timestamped), so any C2SP client
holding the witness's public key checks them.

flags:`

func runWitness(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "address to listen on")
	keyPath := fs.String("key", "witness.key", "file holding the witness's secret note key")
	statePath := fs.String("state", "witness-state.json", "file where the witness keeps the last checkpoint it cosigned of each log")
	generate := fs.String("generate-key", "", "write a new key pair named NAME to --key and --key.pub, and exit")
	printKey := fs.Bool("print-key", false, "print the public cosignature key of --key, and exit")
	var logKeys stringList
	fs.Var(&logKeys, "log-key", "file holding the public note key of a log to witness (repeat for several logs)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, witnessUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if *generate != "" {
		vkey, err := generateWitnessKey(*generate, *keyPath)
		if err != nil {
			return fail(stderr, "witness", err)
		}
		fmt.Fprintf(stdout, "wrote %s (secret) and %s.pub\npublic key: %s\n", *keyPath, *keyPath, vkey)
		return exitOK
	}
	if len(logKeys) == 0 && !*printKey {
		fmt.Fprintln(stderr, "healthcode witness: at least one --log-key is required")
		return exitUsage
	}
	if err := checkSecretFile(*keyPath); err != nil {
		return fail(stderr, "witness", err)
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return fail(stderr, "witness", fmt.Errorf("witness key: %w", err))
	}
	signer, err := tlog.NewCosignatureSigner(string(kb), healthcode.SystemClock{})
	if err != nil {
		return fail(stderr, "witness", err)
	}
	if *printKey {
		fmt.Fprintln(stdout, signer.VerifierKey())
		return exitOK
	}
	var logs []note.Verifier
	var origins []string
	for _, p := range logKeys {
		v, err := readVerifier(p)
		if err != nil {
			return fail(stderr, "witness", err)
		}
		logs = append(logs, v)
		origins = append(origins, v.Name())
	}
	ws, err := tlog.NewWitnessServer(signer, *statePath, logs...)
	if err != nil {
		return fail(stderr, "witness", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ws.Logger = logger
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(stderr, "witness", err)
	}
	srv := &http.Server{
		Handler:           ws,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "witness %s listening on http://%s for %s\ncosignature key: %s\n", signer.Name(), ln.Addr(), strings.Join(origins, ", "), signer.VerifierKey())
	select {
	case err := <-served:
		return fail(stderr, "witness", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fail(stderr, "witness", err)
	}
	return exitOK
}

// generateWitnessKey writes a new witness key named name: the secret (a
// note secret key) to path, never overwriting one, and the public
// cosignature/v1 key to path.pub.
func generateWitnessKey(name, path string) (vkey string, err error) {
	skey, _, err := tlog.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", err
	}
	signer, err := tlog.NewCosignatureSigner(skey, healthcode.SystemClock{})
	if err != nil {
		return "", err
	}
	vkey = signer.VerifierKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("witness key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.WriteFile(path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return "", err
	}
	return vkey, nil
}

func readVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	v, err := tlog.ParseVerifier(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readWitnessVerifier reads a witness's public cosignature key.
func readWitnessVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	v, err := tlog.ParseWitnessVerifier(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// witnessList is the node's --witness URL=KEYFILE setting, repeated: the
// witnesses asked to cosign each checkpoint. KEYFILE holds the witness's
// public note key. In the environment (HEALTHCODE_WITNESS) the entries are
// separated by white space.
type witnessList []string

func (l *witnessList) String() string { return strings.Join(*l, " ") }

func (l *witnessList) Set(v string) error {
	if _, _, err := parseWitnessSpec(v); err != nil {
		return err
	}
	*l = append(*l, v)
	return nil
}

// register adds the --witness flag to fs, with entries from the environment
// where set.
func (l *witnessList) register(fs *flag.FlagSet) {
	if v, ok := os.LookupEnv(envName("witness")); ok {
		*l = append(*l, strings.Fields(v)...)
	}
	fs.Var(l, "witness", "a witness asked to cosign each checkpoint, as URL=KEYFILE (KEYFILE: its public note key); repeat for several (env "+envName("witness")+", separated by spaces)")
}

// parseWitnessSpec splits URL=KEYFILE (at the last '=', since a URL may
// hold one) and checks the URL.
func parseWitnessSpec(spec string) (witnessURL, keyFile string, err error) {
	i := strings.LastIndex(spec, "=")
	if i < 0 {
		return "", "", fmt.Errorf("witness %q: want URL=KEYFILE", spec)
	}
	witnessURL, keyFile = spec[:i], spec[i+1:]
	u, err := url.Parse(witnessURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("witness %q: %q is not an http(s) URL", spec, witnessURL)
	}
	if keyFile == "" {
		return "", "", fmt.Errorf("witness %q: no key file", spec)
	}
	return witnessURL, keyFile, nil
}

// loadWitnesses reads the witnesses' public keys.
func loadWitnesses(specs witnessList) ([]tlog.Witness, error) {
	var out []tlog.Witness
	seen := map[string]bool{}
	for _, s := range specs {
		u, keyFile, err := parseWitnessSpec(s)
		if err != nil {
			return nil, err
		}
		v, err := readWitnessVerifier(keyFile)
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", u, err)
		}
		if seen[u] {
			return nil, fmt.Errorf("witness %s is listed twice", u)
		}
		seen[u] = true
		out = append(out, tlog.Witness{URL: u, Verifier: v})
	}
	return out, nil
}

// setWitnesses configures the witnesses the node asks to cosign its
// checkpoints (none if specs is empty).
func (n *node) setWitnesses(specs witnessList) error {
	ws, err := loadWitnesses(specs)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		n.witnesses = nil
		return nil
	}
	for _, w := range ws {
		if w.Verifier.Name() == n.log.Origin {
			return fmt.Errorf("witness %s: its key is named like this node's log", w.URL)
		}
	}
	n.witnesses = &tlog.Witnesses{Publisher: n.log, Witnesses: ws}
	return nil
}

// cosign asks the node's witnesses to cosign the latest checkpoint (called
// after each Publish). The cosigned checkpoint is what /log/checkpoint and
// the citizens' receipts carry from then on. A witness that is down or
// refuses is reported in the error and asked again next time; it never
// stops the node.
func (n *node) cosign(ctx context.Context) error {
	if n.witnesses == nil {
		return nil
	}
	var latest *healthcode.Checkpoint
	err := n.db.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		latest, err = tx.LatestCheckpoint(ctx)
		return err
	})
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	cosigned, err := n.witnesses.Cosign(ctx, latest.Note)
	for _, w := range n.witnesses.Witnesses {
		var werr error
		if names, _ := tlog.Cosigners(cosigned, note.VerifierList(w.Verifier)); len(names) == 0 {
			werr = errors.New("not cosigned")
		}
		n.server.ObserveCosign(w.URL, latest.Size, werr)
	}
	if err != nil {
		return fmt.Errorf("cosigning checkpoint %d: %w", latest.Size, err)
	}
	return nil
}
