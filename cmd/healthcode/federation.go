package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/time/rate"

	"github.com/prometheus/client_golang/prometheus"

	"healthcode"
	"healthcode/federation"
	"healthcode/qr"
	"healthcode/tlog"
)

// nodeFederation is a node's part in the federation: the trust list it
// holds, the endpoint answering its peers, the client asking them.
type nodeFederation struct {
	key    ed25519.PrivateKey
	cache  *federation.Cache
	server *federation.Server
	client *federation.Client
	ln     net.Listener
}

// openFederation loads the node key (creating it on first use) and, with a
// trust list configured, the cached list, and wires the server and client.
func (n *node) openFederation() error {
	kb, err := loadOrCreateSecret(filepath.Join(n.cfg.DataDir, "node-key.pem"), func() ([]byte, error) {
		k, err := federation.GenerateNodeKey()
		if err != nil {
			return nil, err
		}
		return federation.MarshalNodeKey(k)
	})
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	key, err := federation.ParseNodeKey(kb)
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	f := &nodeFederation{key: key}
	n.fed = f
	if n.cfg.TrustListURL == "" {
		return nil
	}
	national, err := readNationalKey(n.cfg.NationalKey)
	if err != nil {
		return err
	}
	clock := n.engine.Clock
	f.cache = &federation.Cache{URL: n.cfg.TrustListURL, Path: filepath.Join(n.cfg.DataDir, "trust-list"),
		National: note.VerifierList(national), Clock: clock, OnChange: n.trustListChanged, OnExpire: n.trustListExpired}
	f.server = &federation.Server{Region: n.cfg.Region, NodeKey: key, Trust: f.cache.Current, Codes: n.codes,
		Status: n.engine, Receipts: n.server.Log, Log: n.engine, Clock: clock, Logger: n.logger,
		PerPeer: rate.Limit(n.cfg.PeerRate), Burst: n.cfg.PeerBurst}
	var reasons []string
	for _, r := range strings.Split(n.cfg.AcceptReasons, ",") {
		if r = strings.TrimSpace(r); r != "" {
			reasons = append(reasons, r)
		}
	}
	f.client = &federation.Client{Region: n.cfg.Region, NodeKey: key, Trust: f.cache.Current,
		Policy: healthcode.AcceptancePolicy{Reasons: reasons}, Log: n.engine, Clock: clock, Logger: n.logger,
		OnRefused: n.peerRefusedAlert}
	n.registry.MustRegister(newFederationCollector(f.client))
	n.server.Peers = f.client
	if err := f.cache.Load(); err != nil {
		n.logger.Error("the cached trust list does not verify; fetching a new one", "err", err)
	}
	return nil
}

// trustListChanged makes the node trust the codes of the list's regions
// (and apply its revocations), and rewrites DATA/trust.json for offline
// checkpoints.
func (n *node) trustListChanged(l *federation.TrustList) {
	if err := n.codes.SetPeers(l.QRTrust()); err != nil {
		n.logger.Error("the trust list clashes with this node's own keys: not applied", "serial", l.Serial, "err", err)
		return
	}
	if err := writeFileReplacing(filepath.Join(n.cfg.DataDir, "trust.json"), n.codes.TrustList(), 0o644); err != nil {
		n.logger.Error("writing trust.json failed", "err", err)
	}
	n.logger.Info("trust list applied", "serial", l.Serial, "regions", len(l.Regions))
}

// trustListExpired stops trusting other regions' codes: the list held has
// expired and no newer one could be fetched, so revocations may be missing.
func (n *node) trustListExpired(l *federation.TrustList) {
	n.logger.Error("the trust list expired and no newer one was fetched: other regions' codes are no longer trusted", "serial", l.Serial, "expired", l.Expires)
	if err := n.codes.SetPeers(nil); err != nil {
		n.logger.Error("dropping other regions' keys failed", "err", err)
		return
	}
	if err := writeFileReplacing(filepath.Join(n.cfg.DataDir, "trust.json"), n.codes.TrustList(), 0o644); err != nil {
		n.logger.Error("writing trust.json failed", "err", err)
	}
}

// listenFederation opens the node-to-node endpoint's listener.
func (n *node) listenFederation() error {
	if n.fed == nil || n.fed.server == nil || n.cfg.FederationAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.FederationAddr)
	if err != nil {
		return fmt.Errorf("federation-addr: %w", err)
	}
	n.fed.ln = ln
	return nil
}

// federationEndpoint is the https URL of the node-to-node endpoint.
func (n *node) federationEndpoint() string {
	if n.fed == nil || n.fed.ln == nil {
		return ""
	}
	return "https://" + n.fed.ln.Addr().String()
}

// runFederation serves peers and refreshes the trust list until ctx ends.
func (n *node) runFederation(ctx context.Context) {
	f := n.fed
	if f == nil || f.cache == nil {
		return
	}
	if f.ln != nil {
		go func() {
			if err := f.server.Serve(f.ln); err != nil {
				n.logger.Error("the federation endpoint stopped", "err", err)
			}
		}()
		go func() {
			<-ctx.Done()
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f.server.Shutdown(shut)
		}()
	}
	go f.cache.Run(ctx, n.cfg.TrustListEvery, func(err error) {
		n.logger.Warn("fetching the trust list failed; keeping the one held", "err", err)
	})
}

// regionEntry is this node's entry for the national trust list (see
// regionEntryOf).
func (n *node) regionEntry(name, endpoint string, notBefore, notAfter time.Time) (federation.Region, error) {
	return regionEntryOf(n.cfg, n.fed.key, name, endpoint, notBefore, notAfter)
}

// regionEntryOf is the entry of the node in cfg.DataDir for the national
// trust list, from its key files alone: its current QR key valid from
// notBefore to notAfter, each rotated-out key until its codes have expired
// (DATA/qr-retired.json), its log key, witnesses, node key and endpoint.
func regionEntryOf(cfg Config, nodeKey ed25519.PrivateKey, name, endpoint string, notBefore, notAfter time.Time) (federation.Region, error) {
	nk, err := federation.NodeKeyString(nodeKey.Public().(ed25519.PublicKey))
	if err != nil {
		return federation.Region{}, err
	}
	pub, err := os.ReadFile(filepath.Join(cfg.DataDir, "log-signing.pub"))
	if err != nil {
		return federation.Region{}, fmt.Errorf("log public key: %w", err)
	}
	r := federation.Region{Code: cfg.Region, Name: name, Endpoint: endpoint, NodeKey: nk,
		LogOrigin: cfg.Origin, LogKey: strings.TrimSpace(string(pub))}
	for _, w := range cfg.Witnesses {
		_, keyFile, err := parseWitnessSpec(w)
		if err != nil {
			return federation.Region{}, err
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return federation.Region{}, fmt.Errorf("witness key: %w", err)
		}
		r.Witnesses = append(r.Witnesses, strings.TrimSpace(string(b)))
	}
	pemb, err := os.ReadFile(filepath.Join(cfg.DataDir, "qr-signing.pem"))
	if err != nil {
		return federation.Region{}, fmt.Errorf("QR signing key: %w", err)
	}
	key, err := qr.ParsePrivateKey(pemb)
	if err != nil {
		return federation.Region{}, fmt.Errorf("QR signing key: %w", err)
	}
	cur, err := qr.NewSigner(key)
	if err != nil {
		return federation.Region{}, err
	}
	spki, err := x509.MarshalPKIXPublicKey(cur.Public())
	if err != nil {
		return federation.Region{}, err
	}
	r.Keys = append(r.Keys, federation.Key{KID: base64.StdEncoding.EncodeToString(cur.KeyID()), Alg: cur.Alg(),
		PublicKey: base64.StdEncoding.EncodeToString(spki), NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC()})
	retired, err := readRetired(cfg.DataDir)
	if err != nil {
		return federation.Region{}, fmt.Errorf("retired QR keys: %w", err)
	}
	for _, rk := range retired {
		der, err := base64.StdEncoding.DecodeString(rk.PublicKey)
		if err != nil {
			return federation.Region{}, err
		}
		pk, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return federation.Region{}, err
		}
		alg := qr.AlgEd25519
		if _, ok := pk.(ed25519.PublicKey); !ok {
			alg = qr.AlgES256
		}
		// Its codes were signed before the rotation; none after Until.
		r.Keys = append(r.Keys, federation.Key{KID: rk.KID, Alg: alg, PublicKey: rk.PublicKey,
			NotBefore: rk.Until.Add(-365 * 24 * time.Hour).UTC(), NotAfter: rk.Until.UTC()})
	}
	return r, nil
}

func readNationalKey(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("national key: %w", err)
	}
	v, err := tlog.ParseVerifier(string(b))
	if err != nil {
		return nil, fmt.Errorf("national key %s: %s", path, healthcode.ErrorMessage(err))
	}
	return v, nil
}

// federationCollector exports the client's counts.
type federationCollector struct {
	c    *federation.Client
	desc *prometheus.Desc
}

func newFederationCollector(c *federation.Client) *federationCollector {
	return &federationCollector{c: c, desc: prometheus.NewDesc("healthcode_federation_status_queries_total",
		"Status queries this node asked of other regions, by outcome: honoured, refused (a restrictive colour on no accepted reason: alerted), failed (an answer that did not verify or no answer), asked (all).",
		[]string{"outcome"}, nil)}
}

func (c *federationCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *federationCollector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range []struct {
		name string
		v    int64
	}{{"asked", c.c.Asked.Load()}, {"honoured", c.c.Honoured.Load()}, {"refused", c.c.Refused.Load()}, {"failed", c.c.Failed.Load()}} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(x.v), x.name)
	}
}
