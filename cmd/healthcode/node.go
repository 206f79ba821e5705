package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"healthcode"
	"healthcode/engine"
	hchttp "healthcode/http"
	"healthcode/oversight"
	"healthcode/qr"
	"healthcode/rules"
	"healthcode/tlog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// node is one region's running node: its store, keys, engine and server.
type node struct {
	cfg    Config
	db     nodeStore
	engine *engine.Engine
	log    *tlog.Publisher
	codes  *qr.Service
	server *hchttp.Server
	logger *slog.Logger
	// witnesses cosign each checkpoint; nil if none are configured.
	witnesses *tlog.Witnesses
	// fed is the node's part in the federation (federation.go).
	fed      *nodeFederation
	registry *prometheus.Registry
	// oversight runs the detectors; webhook delivers their alerts (nil
	// without --oversight-webhook).
	oversight *oversight.Runner
	webhook   *oversight.Webhook
}

// regionKeys is the on-disk form of the region's secrets.
type regionKeys struct {
	Pseudonym []byte `json:"pseudonym"`
	IDLookup  []byte `json:"id_lookup"`
	Wrap      []byte `json:"wrap"`
}

// loadOrCreate reads the file at path, or writes what create returns there
// (mode 0600) if it does not exist yet.
func loadOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if b, err = create(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

// loadOrCreateSecret is loadOrCreate for a file that holds a secret key: one
// that group or others may read is refused, since whoever could read it
// could sign codes or checkpoints, or unmask pseudonyms.
func loadOrCreateSecret(path string, create func() ([]byte, error)) ([]byte, error) {
	if err := checkSecretFile(path); err != nil {
		return nil, err
	}
	return loadOrCreate(path, create)
}

// checkSecretFile refuses a key file readable or writable by group or
// others; a missing file is not an error.
func checkSecretFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("key file %s is open to group or others (mode %#o): it holds a secret; make it the owner's only (chmod 600 %s) and check who may have read it", path, perm, path)
	}
	return nil
}

func random32() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// requireNode is for the commands that act on a node that is already there
// (admin, rules publish, import without --server, purge, sunset): a data
// directory with no database is a mistake (the wrong --data), not a new node
// to create empty, where a token would then be silently unknown. They check
// before they create anything (the lock file, the keys).
func requireNode(cfg Config) error {
	if isPostgres(cfg.DB) {
		return requirePostgresNode(cfg)
	}
	if _, err := os.Stat(cfg.DB); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no node here: %s does not exist; name the node's data directory with --data DIR (the demo's is healthcode-demo, serve's default healthcode-data) or its database with --db FILE", cfg.DB)
	}
	return nil
}

// openExistingNode is openNode after requireNode.
func openExistingNode(ctx context.Context, cfg Config, clock healthcode.Clock, logw io.Writer) (*node, error) {
	if err := requireNode(cfg); err != nil {
		return nil, err
	}
	return openNode(ctx, cfg, clock, logw)
}

// openNode opens (creating on first use) the node's keys and database, and
// wires the engine, the log, the QR service and the HTTP server.
func openNode(ctx context.Context, cfg Config, clock healthcode.Clock, logw io.Writer) (*node, error) {
	if err := healthcode.ValidateRegion(cfg.Region); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	n := &node{cfg: cfg, logger: newLogger(cfg, logw)}
	kb, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "region-keys.json"), func() ([]byte, error) {
		return json.MarshalIndent(regionKeys{Pseudonym: random32(), IDLookup: random32(), Wrap: random32()}, "", " ")
	})
	if err != nil {
		return nil, fmt.Errorf("region keys: %w", err)
	}
	var rk regionKeys
	if err := json.Unmarshal(kb, &rk); err != nil || len(rk.Wrap) != 32 {
		return nil, fmt.Errorf("region keys in %s are damaged", cfg.DataDir)
	}
	qrPEM, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "qr-signing.pem"), func() ([]byte, error) {
		k, err := qr.GenerateKey("Ed25519")
		if err != nil {
			return nil, err
		}
		return qr.MarshalPrivateKey(k)
	})
	if err != nil {
		return nil, fmt.Errorf("QR signing key: %w", err)
	}
	qrKey, err := qr.ParsePrivateKey(qrPEM)
	if err != nil {
		return nil, fmt.Errorf("QR signing key: %w", err)
	}
	var vkey string
	logKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, "log-signing.key"), func() ([]byte, error) {
		skey, v, err := tlog.GenerateKey(rand.Reader, cfg.Origin)
		vkey = v
		return []byte(skey), err
	})
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	logPub, err := loadOrCreate(filepath.Join(cfg.DataDir, "log-signing.pub"), func() ([]byte, error) {
		if vkey == "" {
			return nil, fmt.Errorf("log-signing.pub is missing beside log-signing.key")
		}
		return []byte(vkey + "\n"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("log public key: %w", err)
	}
	logSigner, err := tlog.ParseSigner(string(logKey))
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	logVerifier, err := tlog.ParseVerifier(strings.TrimSpace(string(logPub)))
	if err != nil {
		return nil, fmt.Errorf("log public key: %w", err)
	}
	qrSigner, err := qr.NewSigner(qrKey)
	if err != nil {
		return nil, fmt.Errorf("QR signing key: %w", err)
	}
	retired, err := readRetired(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("retired QR keys: %w", err)
	}
	if n.codes, err = qr.NewServiceWithRetired(qrSigner, cfg.Region, retired, clock.Now()); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "trust.json"), n.codes.TrustList(), 0o644); err != nil {
		return nil, err
	}
	if n.db, err = openStore(ctx, cfg.DB); err != nil {
		return nil, err
	}
	if err := noteDatabase(cfg.DataDir, cfg.DB); err != nil {
		n.db.Close()
		return nil, err
	}
	n.log = &tlog.Publisher{Origin: cfg.Origin, Signer: logSigner, Verifier: logVerifier, Store: n.db,
		LastPath: filepath.Join(cfg.DataDir, "checkpoint"), CopyPath: cfg.CheckpointCopy, Clock: clock}
	if err := n.setWitnesses(cfg.Witnesses); err != nil {
		n.db.Close()
		return nil, fmt.Errorf("witnesses: %w", err)
	}
	n.engine = &engine.Engine{
		Store:       n.db,
		Log:         &tlog.Log{},
		Keys:        &healthcode.Keys{Pseudonym: rk.Pseudonym, IDLookup: rk.IDLookup, Wrap: rk.Wrap},
		Region:      cfg.Region,
		Clock:       clock,
		TokenTTL:    cfg.TokenTTL.Get(),
		LoadRuleSet: rules.Loader,
		Integrity:   n.log,
		Retention:   cfg.Retention.Get(),

		CheckInPolicy:          cfg.CheckInPolicy(),
		CheckInWait:            cfg.CheckInWait,
		TokenRecheck:           tokenRecheck(cfg.TokenRecheck),
		SlotCapacity:           cfg.SlotCapacity,
		DesignationCoSignAbove: cfg.CoSignAbove,
		Codes:                  n.codes,
		Bulk:                   healthcode.BulkLimits{People: cfg.BulkPeople, Window: cfg.BulkWindow},
	}
	if err := n.engine.Open(ctx); err != nil {
		n.db.Close()
		return nil, err
	}
	if sealed, err := n.engine.SealVenueSecrets(ctx); err != nil {
		n.db.Close()
		return nil, err
	} else if sealed > 0 {
		// Rewrite the file, so that no page keeps the clear secrets.
		if err := n.db.Compact(ctx); err != nil {
			n.db.Close()
			return nil, fmt.Errorf("sealing venue secrets: %w", err)
		}
		n.logger.Info("sealed venue secrets an older node stored in clear", "venues", sealed)
	}
	// No count of people by colour here: /metrics is not for oversight
	// (auditors read figures through the API, each read logged).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.server = &hchttp.Server{
		Auth:              n.engine,
		Codes:             n.engine,
		Evidence:          n.engine,
		Collections:       n.engine,
		Rules:             n.engine,
		Signer:            n.codes,
		Log:               &tlog.Reader{Store: n.db, Publisher: n.log, CosignedPath: tlog.CosignedPath(n.log.LastPath)},
		Venues:            n.engine,
		Governance:        n.engine,
		Oversight:         n.engine,
		Retention:         cfg.Retention.Get(),
		Health:            func(context.Context) error { return n.log.Problem() },
		Degraded:          func(context.Context) error { return n.db.WriteProblem() },
		MaxConns:          cfg.MaxConns,
		MaxConnsPerClient: cfg.MaxConnsPerIP,
		CheckInBusy:       n.engine.CheckInBusy,
		Integrity:         n.log,
		Clock:             clock,
		Region:            cfg.Region,
		Authority:         cfg.Authority,
		Logger:            n.logger,
		QRValidity:        cfg.QRValidity,
		Registry:          reg,
		State:             n.state,
		MetricsToken:      cfg.MetricsToken,
		PublicURL:         cfg.PublicURL,
		TLSCert:           cfg.TLSCert,
		TLSKey:            cfg.TLSKey,
	}
	n.server.TrustedProxies, _ = cfg.Proxies() // checked by Config.finish
	n.wireOversight(reg)
	n.engine.OnChange = n.server.Invalidate
	n.engine.OnCommit = func(c engine.Committed) {
		types := make([]healthcode.LogType, len(c.Entries))
		for i, e := range c.Entries {
			types[i] = e.Type
		}
		n.server.ObserveLogged(types, c.Evidence)
	}
	n.registry = reg
	if err := n.openFederation(); err != nil {
		n.db.Close()
		return nil, err
	}
	// The full self-audit, before anything is served: a node restarted on an
	// edited or restored database must not sign a code or a checkpoint on it.
	// It keeps running on a problem, so /healthz and the auditors see it.
	n.audit(ctx)
	return n, nil
}

// audit runs the node's full self-audit and records what it found: the
// publisher keeps the problems (and fails closed on them), the metrics and
// the log say so.
func (n *node) audit(ctx context.Context) {
	start := time.Now()
	err := n.log.Audit(ctx)
	if ctx.Err() != nil {
		return
	}
	var leaves int64
	n.db.View(ctx, func(tx healthcode.ReadTx) error {
		leaves, _ = tx.LogSize(ctx)
		return nil
	})
	n.server.ObserveAudit(time.Since(start), leaves, err)
	if err != nil {
		n.logger.Error("self-audit: the database disagrees with the log; no checkpoint is signed, and no code for those concerned", "err", err)
	} else {
		n.logger.Debug("self-audit passed", "leaves", leaves, "took", time.Since(start))
	}
}

// publishBaselineIfNone puts the shipped baseline rule set in force on a
// node that has none.
func (n *node) publishBaselineIfNone(ctx context.Context) error {
	if _, _, err := n.engine.ActiveRuleSet(); err == nil {
		return nil
	}
	_, err := n.engine.PublishRuleSet(ctx, &healthcode.Principal{ID: "system", Name: "healthcode (baseline at first start)", Role: healthcode.RoleSystem}, rules.Baseline())
	return err
}

// background runs the node's periodic jobs until ctx ends: re-evaluating
// decisions that are due, and signing checkpoints.
// expireRetiredKeys drops from the trust list (and DATA/trust.json) the
// rotated-out QR keys whose codes have all expired.
func (n *node) expireRetiredKeys() {
	changed, err := n.codes.Expire(n.engine.Clock.Now())
	if err == nil && changed {
		err = writeFileReplacing(filepath.Join(n.cfg.DataDir, "trust.json"), n.codes.TrustList(), 0o644)
	}
	if err != nil {
		n.logger.Error("dropping expired QR keys from the trust list failed", "err", err)
	} else if changed {
		n.logger.Info("a rotated-out QR key's codes have all expired: it is no longer trusted")
	}
}

func (n *node) background(ctx context.Context) {
	review := time.NewTicker(n.cfg.ReviewEvery)
	checkpoint := time.NewTicker(n.cfg.CheckpointEvery)
	audit := time.NewTicker(n.cfg.AuditEvery)
	// The oversight detectors and the webhook run beside the other jobs;
	// background returns once they have stopped, before the store closes.
	var jobs sync.WaitGroup
	defer jobs.Wait()
	jobs.Add(1)
	go func() { defer jobs.Done(); n.oversight.Run(ctx, n.cfg.OversightEvery) }()
	if n.webhook != nil {
		jobs.Add(1)
		go func() { defer jobs.Done(); n.webhook.Run(ctx) }()
	}
	purge := time.NewTicker(purgeEvery)
	defer purge.Stop()
	n.purgeExpired(ctx, n.cfg.Retention.Get()) // at start too: a node restarted daily still purges
	defer review.Stop()
	defer checkpoint.Stop()
	defer audit.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-review.C:
			reviewed, changed, err := n.engine.ReviewDue(ctx, nil)
			if err != nil && ctx.Err() == nil {
				n.logger.Error("review of due decisions failed", "err", err)
			} else if reviewed > 0 {
				n.logger.Info("reviewed due decisions", "reviewed", reviewed, "changed", changed)
			}
			if escalated, err := n.engine.EscalateAppeals(ctx); err != nil && ctx.Err() == nil {
				n.logger.Error("escalating overdue appeals failed", "err", err)
			} else if escalated > 0 {
				n.logger.Warn("appeals past their deadline escalated to oversight", "count", escalated)
			}
			n.expireRetiredKeys()
		case <-purge.C:
			n.purgeExpired(ctx, n.cfg.Retention.Get())
		case <-audit.C:
			n.audit(ctx)
		case <-checkpoint.C:
			if _, err := n.log.Publish(ctx, n.engine.Clock.Now()); err != nil && ctx.Err() == nil {
				n.logger.Error("signing a checkpoint failed", "err", err)
			} else if err := n.cosign(ctx); err != nil && ctx.Err() == nil {
				n.logger.Warn("witness cosigning incomplete; asking again next time", "err", err)
			}
		}
	}
}

func (n *node) close() error {
	n.engine.Close()
	return n.db.Close()
}

// state is what /metrics reads of the node at each scrape.
func (n *node) state(ctx context.Context) hchttp.NodeState {
	depth, _ := n.engine.CheckInQueue()
	st := hchttp.NodeState{CheckInsQueued: int64(depth)}
	n.db.View(ctx, func(tx healthcode.ReadTx) error {
		st.LogSize, _ = tx.LogSize(ctx)
		if cp, err := tx.LatestCheckpoint(ctx); err == nil {
			st.Checkpoint = cp
		}
		return nil
	})
	return st
}
