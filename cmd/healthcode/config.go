package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/engine"
	hchttp "healthcode/http"
	"healthcode/oversight"
)

// Config is every setting of a node, with its defaults in one place
// (defaultConfig). Each field is a flag and a HEALTHCODE_* environment
// variable; the flag wins.
type Config struct {
	DataDir         string        // keys and, by default, the database
	DB              string        // SQLite file
	Addr            string        // listen address
	Region          string        // GB/T 2260 code of the region this node serves
	Authority       string        // the body that issues the codes, named on every page ("" = the region's health commission)
	Origin          string        // the log's origin line in checkpoints
	QRValidity      time.Duration // how long a signed QR is valid
	ReviewEvery     time.Duration // how often due decisions are re-evaluated
	CheckpointEvery time.Duration // how often a checkpoint is signed
	AuditEvery      time.Duration // how often the store is audited against the log (every hash recomputed)
	CheckpointCopy  string        // a second file for the last published checkpoint, outside DataDir
	LogFormat       string        // "text" or "json"
	Witnesses       witnessList   // witnesses asked to cosign each checkpoint: URL=KEYFILE, repeated
	Retention       retention     // how long personal data is kept (--retention KIND=DURATION,…); zero value = healthcode.DefaultRetention
	CheckInRepeat   time.Duration // an unverified check-in at the same venue within this adds no row
	CheckInRate     float64       // check-ins one person may make per hour
	CheckInBurst    int           // … and at once
	CoSignAbove     int64         // exposures a designation may create before an auditor must co-sign it
	PublicURL       string        // where people reach the node, behind a reverse proxy (https: Secure cookies, HSTS)
	TLSCert         string        // PEM certificate: serve https directly (with TLSKey)
	TLSKey          string        // PEM private key of TLSCert
	TrustedProxies  string        // comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed
	TokenTTL        tokenTTL      // how long tokens issued to each role live (--token-ttl ROLE=DURATION,…); zero value = healthcode.DefaultTokenTTL
	BulkPeople      int           // people restrictive requests may name per requester, approver and case in BulkWindow without an auditor
	BulkWindow      time.Duration // the rolling window of the bulk limits
	CheckInWait     time.Duration // the longest a check-in may expect to wait for its commit before it is refused (503)
	TokenRecheck    time.Duration // how often kept tokens are checked against the database's auth epoch (0: on every request)
	SlotCapacity    int           // people one venue's live code of one slot can prove present
	MaxConns        int           // open connections in all (beyond: 503)
	MaxConnsPerIP   int           // open connections per client address (beyond: 503; trusted proxies exempt)
	FederationAddr  string        // listen address of the node-to-node endpoint (mutual TLS); "" = none
	TrustListURL    string        // where the national trust list is fetched; "" = no federation
	NationalKey     string        // file holding the national key's public note key
	TrustListEvery  time.Duration // how often the trust list is fetched
	AcceptReasons   string        // comma-separated reason codes for which another region's colour is honoured
	PeerRate        float64       // status queries per second each peer region may make
	PeerBurst       int           // … and at once
	MetricsToken    string        // bearer token that opens /metrics to a scraper off the node's machine
	OversightEvery  time.Duration // how often the oversight detectors run over what the log and store gained
	OversightHook   string        // URL each new oversight alert is POSTed to (retried with backoff), "" for none
	OversightLimits string        // the detectors' thresholds over their defaults, NAME=VALUE,… (oversight.ParseSettings)

	oversight oversight.Settings // OversightLimits parsed by finish

	envErrs []error // malformed HEALTHCODE_* values, reported by finish
}

func defaultConfig() Config {
	return Config{
		DataDir:         "healthcode-data",
		Addr:            "127.0.0.1:8080",
		Region:          "410100",
		QRValidity:      5 * time.Minute,
		ReviewEvery:     time.Minute,
		CheckpointEvery: time.Minute,
		AuditEvery:      time.Minute,
		LogFormat:       "text",
		CheckInRepeat:   healthcode.DefaultCheckInPolicy.RepeatWindow,
		CheckInRate:     healthcode.DefaultCheckInPolicy.PerHour,
		CheckInBurst:    healthcode.DefaultCheckInPolicy.Burst,
		CoSignAbove:     healthcode.DefaultDesignationCoSignAbove,
		BulkPeople:      healthcode.BulkLimit,
		BulkWindow:      healthcode.DefaultBulkWindow,
		CheckInWait:     engine.DefaultCheckInWait,
		TokenRecheck:    engine.DefaultTokenRecheck,
		SlotCapacity:    healthcode.DefaultSlotCapacity,
		MaxConns:        hchttp.DefaultMaxConns,
		MaxConnsPerIP:   hchttp.DefaultMaxConnsPerClient,
		TrustListEvery:  5 * time.Minute,
		AcceptReasons:   strings.Join(healthcode.DefaultAcceptedReasons, ","),
		PeerRate:        50,
		PeerBurst:       100,
		OversightEvery:  5 * time.Second,
	}
}

// envName turns a flag name into its environment variable: qr-validity →
// HEALTHCODE_QR_VALIDITY.
func envName(flagName string) string {
	return "HEALTHCODE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// register adds the config's flags to fs, with defaults taken from the
// environment where set.
func (c *Config) register(fs *flag.FlagSet) {
	str := func(p *string, name, help string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, help+" (env "+envName(name)+")")
	}
	dur := func(p *time.Duration, name, help string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if d, err := time.ParseDuration(v); err == nil {
				*p = d
			} else {
				c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: %v", envName(name), v, err))
			}
		}
		fs.DurationVar(p, name, *p, help+" (env "+envName(name)+")")
	}
	num := func(name string, parse func(string) error, set func(fs *flag.FlagSet, help string), help string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if err := parse(v); err != nil {
				c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: %v", envName(name), v, err))
			}
		}
		set(fs, help+" (env "+envName(name)+")")
	}
	num("checkin-rate", func(v string) (err error) { c.CheckInRate, err = strconv.ParseFloat(v, 64); return },
		func(fs *flag.FlagSet, h string) { fs.Float64Var(&c.CheckInRate, "checkin-rate", c.CheckInRate, h) },
		"check-ins one person may make per hour (above it: 429 with Retry-After)")
	num("checkin-burst", func(v string) (err error) { c.CheckInBurst, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) { fs.IntVar(&c.CheckInBurst, "checkin-burst", c.CheckInBurst, h) },
		"check-ins one person may make at once")
	num("designation-cosign-above", func(v string) (err error) { c.CoSignAbove, err = strconv.ParseInt(v, 10, 64); return },
		func(fs *flag.FlagSet, h string) {
			fs.Int64Var(&c.CoSignAbove, "designation-cosign-above", c.CoSignAbove, h)
		},
		"exposures a risk designation may create before its approval needs an auditor's co-signature")
	num("bulk-people", func(v string) (err error) { c.BulkPeople, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) { fs.IntVar(&c.BulkPeople, "bulk-people", c.BulkPeople, h) },
		"distinct people restrictive overrides and interview-linked records may name per requester, per approver and per case within --bulk-window before an auditor must co-sign")
	dur(&c.BulkWindow, "bulk-window", "the rolling window over which --bulk-people is counted")
	num("max-conns", func(v string) (err error) { c.MaxConns, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) { fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, h) },
		"open connections the node keeps at once; a new one beyond it is answered 503 with Retry-After (negative: no bound)")
	num("max-conns-per-client", func(v string) (err error) { c.MaxConnsPerIP, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) {
			fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-client", c.MaxConnsPerIP, h)
		},
		"open connections one client address may hold (trusted proxies exempt; negative: no bound)")
	num("venue-slot-capacity", func(v string) (err error) { c.SlotCapacity, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) { fs.IntVar(&c.SlotCapacity, "venue-slot-capacity", c.SlotCapacity, h) },
		"people one venue's live code of one 30 s slot can prove present: past it the code is being passed around and none of that slot's check-ins prove presence (a venue with more arrivals shows a code per entrance)")
	dur(&c.CheckInWait, "checkin-wait", "the longest a check-in may expect to wait for its commit (measured from recent commits): above it, check-ins are refused at once with 503 and Retry-After instead of queueing")
	dur(&c.TokenRecheck, "token-recheck", "how often the node asks the database whether another process or node (admin revoke, a second node on the same PostgreSQL) revoked a token or changed an official: the longest such a change goes unseen here (one made through this node is seen at once); 0 asks on every request")
	dur(&c.OversightEvery, "oversight-every", "how often the oversight detectors read what the log and the store gained and raise alerts (alerts come within this of an action, well within the 60 s promised)")
	str(&c.OversightLimits, "oversight-thresholds", "the oversight detectors' thresholds over their defaults, NAME=VALUE,… (durations as 30m, counts, factors):\n"+oversight.Help())
	str(&c.OversightHook, "oversight-webhook", "URL each new oversight alert is POSTed to as JSON, retried with backoff; every attempt is recorded and logged")
	str(&c.DataDir, "data", "directory for the node's keys and, by default, its database")
	str(&c.DB, "db", "SQLite database file (default DATA/healthcode.db), or a postgres:// URL to keep the node in PostgreSQL")
	str(&c.Addr, "addr", "address to listen on")
	str(&c.Region, "region", "GB/T 2260 division code of the region this node serves")
	str(&c.Authority, "authority", "name of the body that issues the codes, shown on every page (default: the health commission of --region, e.g. 郑州市卫生健康委员会)")
	str(&c.Origin, "origin", "origin line of the log's checkpoints (default healthcode.local/REGION)")
	dur(&c.QRValidity, "qr-validity", "how long a signed health QR stays valid")
	dur(&c.ReviewEvery, "review-every", "how often decisions due for review are re-evaluated")
	dur(&c.CheckpointEvery, "checkpoint-every", "how often a log checkpoint is signed")
	dur(&c.AuditEvery, "audit-every", "how often the node audits its database against its log: every stored hash recomputed from the leaves, the tree checked against the last published checkpoint, every person's stored decision checked to be their latest logged one (also done at start)")
	str(&c.CheckpointCopy, "checkpoint-copy", "a second file for the last published checkpoint, outside the data directory (another volume or machine), so that restoring the data directory from a backup is caught even with no witness")
	str(&c.LogFormat, "log-format", "log format: text or json")
	dur(&c.CheckInRepeat, "checkin-repeat", "an unverified check-in (printed or stale code) at the same venue within this window adds no row: it answers with the earlier one")
	str(&c.PublicURL, "public-url", "the node's public URL (scheme://host[:port]) when it runs behind a reverse proxy: its origin is accepted for state changes; if https, cookies are Secure and answers carry HSTS")
	str(&c.TLSCert, "tls-cert", "PEM certificate (chain) file: serve https directly, with --tls-key (cookies Secure, HSTS)")
	str(&c.TLSKey, "tls-key", "PEM private key file of --tls-cert")
	str(&c.MetricsToken, "metrics-token", "bearer token a Prometheus scraper sends for /metrics (give it in the environment, not on the command line); without it /metrics answers only a scraper on the node's own machine: a loopback connection, no --public-url or --trusted-proxy")
	str(&c.TrustedProxies, "trusted-proxy", "comma-separated addresses or CIDRs of the reverse proxies in front of the node: only from them is X-Forwarded-For read (for the slow-down of failed logins); no other forwarded header is ever trusted")
	str(&c.FederationAddr, "federation-addr", "address of the node-to-node endpoint for other regions' status queries (mutual TLS with the node keys of the trust list); empty: none")
	str(&c.TrustListURL, "trust-list-url", "where the national trust list is published (a signed note, fetched and cached in DATA/trust-list); empty: this node knows no other region")
	str(&c.NationalKey, "national-key", "file holding the national key's public note key, which signs the trust list")
	dur(&c.TrustListEvery, "trust-list-every", "how often the trust list is fetched (a revoked key stops verifying at the next fetch)")
	str(&c.AcceptReasons, "accept-reasons", "comma-separated reason codes for which another region's yellow or red is honoured (its epidemiological list); any other reason, and no reason, is not propagated and is alerted")
	num("peer-rate", func(v string) (err error) { c.PeerRate, err = strconv.ParseFloat(v, 64); return },
		func(fs *flag.FlagSet, h string) { fs.Float64Var(&c.PeerRate, "peer-rate", c.PeerRate, h) },
		"status queries per second each peer region may make (above it: 429 with Retry-After)")
	num("peer-burst", func(v string) (err error) { c.PeerBurst, err = strconv.Atoi(v); return },
		func(fs *flag.FlagSet, h string) { fs.IntVar(&c.PeerBurst, "peer-burst", c.PeerBurst, h) },
		"status queries each peer region may make at once")
	c.Witnesses.register(fs) // --witness, env HEALTHCODE_WITNESS (space-separated)
	c.Retention.register(fs) // --retention, env HEALTHCODE_RETENTION
	c.TokenTTL.register(fs)  // --token-ttl, env HEALTHCODE_TOKEN_TTL
}

// CheckInPolicy is the check-in bounds the config sets.
func (c *Config) CheckInPolicy() healthcode.CheckInPolicy {
	return healthcode.CheckInPolicy{RepeatWindow: c.CheckInRepeat, PerHour: c.CheckInRate, Burst: c.CheckInBurst}
}

// Proxies parses --trusted-proxy.
func (c *Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("trusted-proxy %q is not an address or a CIDR", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// finish fills derived defaults and checks the values.
func (c *Config) finish() error {
	if len(c.envErrs) > 0 {
		return c.envErrs[0]
	}
	if c.DB == "" {
		c.DB = defaultDB(c.DataDir) // the SQLite file, or the database the directory names
	}
	if c.Origin == "" {
		c.Origin = "healthcode.local/" + c.Region
	}
	if c.QRValidity < 30*time.Second || c.QRValidity > 24*time.Hour {
		return fmt.Errorf("qr-validity %s out of range (30s to 24h)", c.QRValidity)
	}
	if c.ReviewEvery <= 0 || c.CheckpointEvery <= 0 || c.AuditEvery <= 0 {
		return fmt.Errorf("review-every, checkpoint-every and audit-every must be positive")
	}
	if err := c.CheckInPolicy().Validate(); err != nil {
		return fmt.Errorf("checkin-repeat, checkin-rate, checkin-burst: %s", healthcode.ErrorMessage(err))
	}
	if c.SlotCapacity < 1 || c.SlotCapacity > 10_000 {
		return fmt.Errorf("venue-slot-capacity %d out of range (1 to 10000)", c.SlotCapacity)
	}
	if c.CoSignAbove < 1 {
		return fmt.Errorf("designation-cosign-above must be at least 1")
	}
	if c.OversightEvery < 100*time.Millisecond || c.OversightEvery > 30*time.Second {
		return fmt.Errorf("oversight-every %s out of range (100ms to 30s: alerts are promised within 60 s)", c.OversightEvery)
	}
	var err error
	if c.oversight, err = oversight.ParseSettings(c.OversightLimits); err != nil {
		return err
	}
	if c.OversightHook != "" {
		if u, err := url.Parse(c.OversightHook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("oversight-webhook %q is not an http(s) URL", c.OversightHook)
		}
	}
	if c.BulkPeople < 1 || c.BulkWindow < time.Hour {
		return fmt.Errorf("bulk-people must be at least 1 and bulk-window at least 1h")
	}
	if err := c.Retention.Err(); err != nil {
		return err
	}
	if _, err := c.Proxies(); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls-cert and tls-key go together")
	}
	if err := (&hchttp.Server{PublicURL: c.PublicURL}).Check(); err != nil {
		return err
	}
	if c.TokenTTL.envErr != nil {
		return c.TokenTTL.envErr
	}
	if (c.TrustListURL == "") != (c.NationalKey == "") {
		return fmt.Errorf("trust-list-url and national-key go together")
	}
	if c.FederationAddr != "" && c.TrustListURL == "" {
		return fmt.Errorf("federation-addr needs a trust list (trust-list-url and national-key): peers are known only from it")
	}
	if c.TrustListEvery < time.Second || c.PeerRate <= 0 || c.PeerBurst < 1 {
		return fmt.Errorf("trust-list-every must be at least 1s, peer-rate positive and peer-burst at least 1")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format must be text or json, not %q", c.LogFormat)
	}
	return nil
}

// tokenTTL is the --token-ttl flag: role=duration pairs over the defaults.
type tokenTTL struct {
	ttl    healthcode.TokenTTL
	envErr error
}

// Get returns the lifetimes in force.
func (v *tokenTTL) Get() healthcode.TokenTTL {
	if v.ttl == nil {
		return healthcode.DefaultTokenTTL()
	}
	return v.ttl
}

func (v *tokenTTL) String() string {
	if v == nil {
		return ""
	}
	return v.Get().String()
}

// Set parses role=duration,… (durations as 90m, 12h or 30d).
func (v *tokenTTL) Set(s string) error {
	t, err := healthcode.ParseTokenTTL(s)
	if err != nil {
		return errors.New(healthcode.ErrorMessage(err))
	}
	v.ttl = t
	return nil
}

func (v *tokenTTL) register(fs *flag.FlagSet) {
	if s, ok := os.LookupEnv(envName("token-ttl")); ok {
		if err := v.Set(s); err != nil {
			v.envErr = fmt.Errorf("%s=%q: %v", envName("token-ttl"), s, err)
		}
	}
	fs.Var(v, "token-ttl", "how long a token issued to each role lives, ROLE=DURATION,… over the defaults (durations as 12h or 30d; env "+envName("token-ttl")+")")
}

// tokenRecheck is the engine's TokenRecheck for --token-recheck: zero (or
// less) asks on every request, which the engine spells negative.
func tokenRecheck(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
