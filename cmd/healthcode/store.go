package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// demoDataDir is the demo's data directory (serve's default is
// defaultConfig().DataDir).
const demoDataDir = "healthcode-demo"

// finishNodeConfig is Config.finish for the commands that act on a node that
// is already there (admin, rules publish|approve|review, import without
// --server, purge, sunset, rotate-key). They find the node's data the way
// serve and demo lay it out: the directory named by --data or --db if one
// was given; else serve's default if a node is there, or the demo's
// directory if a node is there instead, or is the one a running node
// serves; else serve's default (which requireNode then refuses, saying
// so). The store chosen, and why, is said on stderr.
func (c *Config) finishNodeConfig(fs *flag.FlagSet, cmd string, stderr io.Writer) error {
	why := c.chooseStore(fs)
	if err := c.finish(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "healthcode %s: store %s (%s)\n", cmd, displayDB(c.DB), why)
	return nil
}

// chooseStore sets DataDir when neither --data nor --db (flag or
// environment) named one, and says why the store is the one it is.
func (c *Config) chooseStore(fs *flag.FlagSet) string {
	named := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "data" || f.Name == "db" {
			named = "--" + f.Name
		}
	})
	for _, name := range []string{"data", "db"} {
		if _, ok := os.LookupEnv(envName(name)); ok && named == "" {
			named = envName(name)
		}
	}
	if named != "" {
		return "named by " + named
	}
	def := c.DataDir
	defHas, demoHas := hasNode(def), hasNode(demoDataDir)
	_, defServed := servedBy(def)
	_, demoServed := servedBy(demoDataDir)
	switch {
	case demoHas && !defHas:
		c.DataDir = demoDataDir
		return fmt.Sprintf("no --data: the demo's, since %s holds no node", def)
	case demoHas && demoServed && !defServed:
		c.DataDir = demoDataDir
		return fmt.Sprintf("no --data: the demo's, which the running node serves; %s has a node too, name it with --data %s", def, def)
	case demoHas:
		return fmt.Sprintf("no --data: the default; %s has a node too, name it with --data %s", demoDataDir, demoDataDir)
	}
	return "no --data: the default"
}

// hasNode reports whether dir holds a node's database (or names the
// PostgreSQL database that does).
func hasNode(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "healthcode.db"))
	if err != nil {
		_, err = os.Stat(filepath.Join(dir, databaseFile))
	}
	return err == nil
}

// servedBy reports whether a running node (serve or demo) holds dir's lock,
// and the URL it noted there (see noteServing).
func servedBy(dir string) (url string, served bool) {
	f, err := os.Open(filepath.Join(dir, "node.lock"))
	if err != nil {
		return "", false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return "", false
	}
	b := make([]byte, 512)
	k, _ := f.Read(b)
	return strings.TrimSpace(string(b[:k])), true
}

// noteServing writes the URL a running node serves into its data
// directory's lock file (which it holds), for servedBy.
func noteServing(dir, url string) {
	os.WriteFile(filepath.Join(dir, "node.lock"), []byte(url+"\n"), 0o600)
}

// refuseUnservedStore is for the commands that issue tokens (admin init,
// admin token): a token issued into a store that no running node serves,
// while a running node here serves another one, would be answered
// "unknown token" by that node. It refuses, naming the store in use.
func refuseUnservedStore(cfg Config) error {
	if _, ok := servedBy(cfg.DataDir); ok {
		return nil
	}
	for _, dir := range []string{defaultConfig().DataDir, demoDataDir} {
		if sameDir(dir, cfg.DataDir) {
			continue
		}
		if url, ok := servedBy(dir); ok {
			at := ""
			if url != "" {
				at = " at " + url
			}
			return errors.New("the running node" + at + " serves " + dir + ", not " + cfg.DataDir +
				": a token issued here would be unknown to it; name its store with --data " + dir)
		}
	}
	return nil
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
