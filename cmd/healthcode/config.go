package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is every setting of a node, with its defaults in one place
// (defaultConfig). Each field is a flag and a HEALTHCODE_* environment
// variable; the flag wins.
type Config struct {
	DataDir         string        // keys and, by default, the database
	DB              string        // SQLite file
	Addr            string        // listen address
	Region          string        // GB/T 2260 code of the region this node serves
	Origin          string        // the log's origin line in checkpoints
	QRValidity      time.Duration // how long a signed QR is valid
	ReviewEvery     time.Duration // how often due decisions are re-evaluated
	CheckpointEvery time.Duration // how often a checkpoint is signed
	AuditEvery      time.Duration // how often the store is checked against the log
	LogFormat       string        // "text" or "json"
	Witnesses       witnessList   // witnesses asked to cosign each checkpoint: URL=KEYFILE, repeated
	Retention       retention     // how long personal data is kept (--retention KIND=DURATION,…); zero value = healthcode.DefaultRetention

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
		AuditEvery:      10 * time.Minute,
		LogFormat:       "text",
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
	str(&c.DataDir, "data", "directory for the node's keys and, by default, its database")
	str(&c.DB, "db", "SQLite database file (default DATA/healthcode.db)")
	str(&c.Addr, "addr", "address to listen on")
	str(&c.Region, "region", "GB/T 2260 division code of the region this node serves")
	str(&c.Origin, "origin", "origin line of the log's checkpoints (default healthcode.local/REGION)")
	dur(&c.QRValidity, "qr-validity", "how long a signed health QR stays valid")
	dur(&c.ReviewEvery, "review-every", "how often decisions due for review are re-evaluated")
	dur(&c.CheckpointEvery, "checkpoint-every", "how often a log checkpoint is signed")
	dur(&c.AuditEvery, "audit-every", "how often the database is checked against the log (every stored colour explained, no fork)")
	str(&c.LogFormat, "log-format", "log format: text or json")
	c.Witnesses.register(fs) // --witness, env HEALTHCODE_WITNESS (space-separated)
	c.Retention.register(fs) // --retention, env HEALTHCODE_RETENTION
}

// finish fills derived defaults and checks the values.
func (c *Config) finish() error {
	if len(c.envErrs) > 0 {
		return c.envErrs[0]
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "healthcode.db")
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
	if err := c.Retention.Err(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format must be text or json, not %q", c.LogFormat)
	}
	return nil
}
