// Package pgcluster runs a small PostgreSQL cluster with automatic failover
// on this machine, for tests and benchmarks: a pg_auto_failover monitor, a
// primary and a synchronous standby, each started with pg_autoctl on a
// 127.0.0.1 port in a temporary directory. It never manages a production
// database: a province runs its own pg_auto_failover or Patroni (see
// docs/scaling.md). Failover is shortened to a few seconds here (see
// Timeouts); the kill is a SIGKILL of a whole node, keeper and postgres.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DBName is the database pg_autoctl creates on the data nodes.
const DBName = "healthcode"

// Timeouts are the pg_auto_failover settings the cluster runs with, in
// place of defaults that take about a minute to promote the standby
// (20 s before the primary is deemed unhealthy, then 30 s for it to
// demote). The monitor's primary_demote_timeout stays above the keepers'
// network_partition_timeout, as pg_auto_failover requires for safety: a
// primary cut off from the monitor and the standby stops itself before
// the standby can be promoted.
var Timeouts = struct {
	// The monitor's (GUCs of its pgautofailover extension).
	HealthCheckPeriod, HealthCheckTimeout, HealthCheckRetryDelay time.Duration
	HealthCheckMaxRetries                                        int
	NodeConsideredUnhealthy, PrimaryDemote                       time.Duration
	// The keepers' (timeout.network_partition_timeout, in seconds).
	NetworkPartition time.Duration
}{
	HealthCheckPeriod: time.Second, HealthCheckTimeout: time.Second, HealthCheckRetryDelay: 500 * time.Millisecond,
	HealthCheckMaxRetries:   1,
	NodeConsideredUnhealthy: 2 * time.Second, PrimaryDemote: 3 * time.Second,
	NetworkPartition: 2 * time.Second,
}

// Tools are the programs a cluster needs.
type Tools struct {
	Autoctl string // pg_autoctl
	PGCtl   string // pg_ctl of the PostgreSQL pg_autoctl was built for
}

// FindTools finds pg_autoctl on PATH and pg_ctl on PATH or in Debian's
// /usr/lib/postgresql/VERSION/bin (the newest). The error says what to
// install.
func FindTools() (Tools, error) {
	var t Tools
	var err error
	if t.Autoctl, err = exec.LookPath("pg_autoctl"); err != nil {
		return t, errors.New("pg_autoctl is not installed (Debian: apt-get install postgresql-15-auto-failover)")
	}
	// pg_autoctl finds pg_controldata and the others beside pg_ctl: a
	// link to it elsewhere is followed.
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if t.PGCtl, err = filepath.EvalSymlinks(p); err == nil {
			return t, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	if len(dirs) == 0 {
		return t, errors.New("pg_ctl is not installed (Debian: apt-get install postgresql-15)")
	}
	t.PGCtl = dirs[len(dirs)-1]
	return t, nil
}

// pgVersion is the major version in a path /usr/lib/postgresql/V/bin/pg_ctl.
func pgVersion(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// Node is one pg_autoctl-managed PostgreSQL instance.
type Node struct {
	Name   string
	Port   int
	PGData string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Cluster is a running monitor and two data nodes.
type Cluster struct {
	Dir     string
	Monitor *Node
	Nodes   []*Node

	// restored are the servers Restore started.
	restored []*Node

	tools Tools
	cred  *syscall.Credential
	env   []string
	log   io.Writer
}

// Start creates a monitor and two data nodes in a new temporary
// directory, and waits until one is primary and the other its synchronous
// standby. pg_autoctl's output goes to logw (nil: discarded). As root,
// PostgreSQL runs as the user postgres (initdb refuses root). Close stops
// everything and removes the directory.
func Start(ctx context.Context, logw io.Writer) (_ *Cluster, err error) {
	tools, err := FindTools()
	if err != nil {
		return nil, err
	}
	if logw == nil {
		logw = io.Discard
	}
	dir, err := os.MkdirTemp("", "healthcode-pgcluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, tools: tools, log: &lockedWriter{w: logw}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	// pg_autoctl keeps its configuration, state and pid files under XDG
	// directories: inside the cluster's, so that nothing outlives it (the
	// runtime one only if it exists, else /tmp/pg_autoctl, shared).
	// Each node's files go under XDG/pg_autoctl/PGDATA: the directories
	// down to the nodes' parent are made here, since the nodes' pg_autoctl
	// processes, started together, would race to make them.
	xdg := []string{filepath.Join(dir, "config"), filepath.Join(dir, "share"), filepath.Join(dir, "run")}
	var made []string
	for _, d := range xdg {
		p := d
		for _, part := range append([]string{""}, strings.Split(filepath.Join("pg_autoctl", dir), string(filepath.Separator))...) {
			p = filepath.Join(p, part)
			if err := os.Mkdir(p, 0o700); err != nil {
				return nil, err
			}
			made = append(made, p)
		}
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root, PostgreSQL needs the user postgres (Debian's postgresql package creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range append(made, dir) {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, err
			}
		}
	}
	c.env = append(os.Environ(),
		"HOME="+dir, "XDG_CONFIG_HOME="+xdg[0], "XDG_DATA_HOME="+xdg[1], "XDG_RUNTIME_DIR="+xdg[2],
		"PATH="+filepath.Dir(tools.PGCtl)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PG_AUTOCTL_DEBUG=")
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c.Monitor = &Node{Name: "monitor", Port: ports[0], PGData: filepath.Join(dir, "monitor")}
	c.Nodes = []*Node{
		{Name: "node1", Port: ports[1], PGData: filepath.Join(dir, "node1")},
		{Name: "node2", Port: ports[2], PGData: filepath.Join(dir, "node2")},
	}

	// Each node is created and run by one pg_autoctl process (create
	// --run), which stays. The monitor and the first data node start
	// together (the node retries until the monitor answers), so that node1
	// is the first primary; node2 is cloned from it later (pg_basebackup).
	if err := c.run(c.Monitor, "create", "monitor", "--pgport", strconv.Itoa(c.Monitor.Port),
		"--pgctl", tools.PGCtl, "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"); err != nil {
		return nil, err
	}
	createNode := func(n *Node) error {
		return c.run(n, "create", "postgres", "--pgport", strconv.Itoa(n.Port),
			"--pgctl", tools.PGCtl, "--hostname", "127.0.0.1", "--name", n.Name, "--dbname", DBName,
			"--auth", "trust", "--no-ssl", "--monitor", c.monitorURL("autoctl_node", "pg_auto_failover"),
			"--replication-quorum", "true", "--candidate-priority", "50", "--run")
	}
	if err := createNode(c.Nodes[0]); err != nil {
		return nil, err
	}
	mon, err := c.connectMonitor(ctx)
	if err != nil {
		return nil, err
	}
	defer mon.Close(context.Background())
	t := Timeouts
	for name, v := range map[string]int64{
		"health_check_period": t.HealthCheckPeriod.Milliseconds(), "health_check_timeout": t.HealthCheckTimeout.Milliseconds(),
		"health_check_retry_delay": t.HealthCheckRetryDelay.Milliseconds(), "health_check_max_retries": int64(t.HealthCheckMaxRetries),
		"node_considered_unhealthy_timeout": t.NodeConsideredUnhealthy.Milliseconds(), "primary_demote_timeout": t.PrimaryDemote.Milliseconds(),
	} {
		if _, err := mon.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET pgautofailover.%s = %d", name, v)); err != nil {
			return nil, fmt.Errorf("pgcluster: monitor: %w", err)
		}
	}
	if _, err := mon.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return nil, fmt.Errorf("pgcluster: monitor: %w", err)
	}
	// The keeper's side of the shortened failover, read at once.
	partition := func(n *Node) error {
		return c.autoctl(ctx, "config", "set", "--pgdata", n.PGData, "timeout.network_partition_timeout",
			strconv.Itoa(int(t.NetworkPartition/time.Second)))
	}
	if err := c.waitStates(ctx, mon, map[string]string{c.Nodes[0].Name: "single"}); err != nil {
		return nil, err
	}
	// pg_basebackup waits for a spread checkpoint on the primary: about
	// 0.1 s per dirty buffer, for what creating the database left. Flush
	// them first.
	if err := c.exec(ctx, c.Nodes[0], "CHECKPOINT"); err != nil {
		return nil, err
	}
	if err := partition(c.Nodes[0]); err != nil {
		return nil, err
	}
	if err := createNode(c.Nodes[1]); err != nil {
		return nil, err
	}
	if err := c.waitStates(ctx, mon, map[string]string{c.Nodes[0].Name: "primary", c.Nodes[1].Name: "secondary"}); err != nil {
		return nil, err
	}
	if err := partition(c.Nodes[1]); err != nil {
		return nil, err
	}
	if _, err := c.WaitPrimary(ctx, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// URL is the multi-host connection string a node is given: both data
// nodes, and target_session_attrs=read-write so that a connection is only
// ever made to the one that takes writes, whichever it is now.
func (c *Cluster) URL() string {
	hosts := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		hosts[i] = fmt.Sprintf("127.0.0.1:%d", n.Port)
	}
	return "postgres://postgres@" + strings.Join(hosts, ",") + "/" + DBName +
		"?sslmode=disable&target_session_attrs=read-write&connect_timeout=2"
}

// FormationURI is the connection string pg_auto_failover itself gives
// applications (`pg_autoctl show uri --formation default`): every data
// node, with target_session_attrs=read-write. It names no user.
func (c *Cluster) FormationURI(ctx context.Context) (string, error) {
	cmd := c.command("show", "uri", "--pgdata", c.Monitor.PGData, "--formation", "default")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pgcluster: pg_autoctl show uri: %w\n%s", err, errb.Bytes())
	}
	return strings.TrimSpace(out.String()), nil
}

// NodeURL is a connection string to one node alone.
func (c *Cluster) NodeURL(n *Node) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", n.Port, DBName)
}

func (c *Cluster) monitorURL(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", user, c.Monitor.Port, db)
}

// connectMonitor connects to the monitor's database as the superuser,
// waiting for it to accept connections.
func (c *Cluster) connectMonitor(ctx context.Context) (*pgx.Conn, error) {
	var last error
	for {
		conn, err := pgx.Connect(ctx, c.monitorURL("postgres", "pg_auto_failover"))
		if err == nil {
			return conn, nil
		}
		if c.Monitor.exited() {
			return nil, errors.New("pgcluster: pg_autoctl of the monitor stopped (its output says why)")
		}
		last = err
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, fmt.Errorf("pgcluster: the monitor never answered: %w (last: %v)", err, last)
		}
	}
}

// state is one data node as the monitor sees it.
type state struct {
	name, reported, goal string
	port                 int
}

func (c *Cluster) states(ctx context.Context, mon *pgx.Conn) ([]state, error) {
	rows, err := mon.Query(ctx, "SELECT nodename, nodeport, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (state, error) {
		var s state
		err := r.Scan(&s.name, &s.port, &s.reported, &s.goal)
		return s, err
	})
}

// waitStates waits until each named node has reported the state given
// and is asked for no other.
func (c *Cluster) waitStates(ctx context.Context, mon *pgx.Conn, want map[string]string) error {
	var seen []state
	for {
		for _, n := range c.Nodes {
			if _, named := want[n.Name]; named && n.exited() {
				return fmt.Errorf("pgcluster: pg_autoctl of %s stopped (its output says why)", n.Name)
			}
		}
		ss, err := c.states(ctx, mon)
		if err == nil {
			seen = ss
			ok := 0
			for _, s := range ss {
				if w, named := want[s.name]; named && s.reported == w && s.goal == w {
					ok++
				}
			}
			if ok == len(want) {
				return nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("pgcluster: waiting for %v: %w (the monitor says %v)", want, err, seen)
		}
	}
}

// WaitPrimary waits until one data node other than not (nil: any) is
// primary and the other its synchronous standby (the state
// pg_auto_failover calls primary, with the standby in its synchronous
// standby names and streaming), and returns the primary.
func (c *Cluster) WaitPrimary(ctx context.Context, not *Node) (*Node, error) {
	mon, err := c.connectMonitor(ctx)
	if err != nil {
		return nil, err
	}
	defer mon.Close(context.Background())
	var why string
	for {
		p, w, err := c.syncPrimary(ctx, mon, not)
		if err == nil && p != nil {
			return p, nil
		}
		why = w
		if err != nil {
			why = err.Error()
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, fmt.Errorf("pgcluster: waiting for a primary with a synchronous standby: %w (%s)", err, why)
		}
	}
}

// syncPrimary returns the primary if the cluster is a primary with a
// synchronous standby now, else nil and why not.
func (c *Cluster) syncPrimary(ctx context.Context, mon *pgx.Conn, not *Node) (*Node, string, error) {
	ss, err := c.states(ctx, mon)
	if err != nil {
		return nil, "", err
	}
	var primary *Node
	secondaries := 0
	for _, s := range ss {
		switch {
		case s.reported == "primary" && s.goal == "primary":
			primary = c.node(s.name)
		case s.reported == "secondary" && s.goal == "secondary":
			secondaries++
		}
	}
	if primary == nil || primary == not || secondaries != 1 {
		return nil, fmt.Sprintf("the monitor says %v", ss), nil
	}
	conn, err := pgx.Connect(ctx, c.NodeURL(primary))
	if err != nil {
		return nil, "", err
	}
	defer conn.Close(context.Background())
	var names, syncState string
	err = conn.QueryRow(ctx, `SELECT current_setting('synchronous_standby_names'),
		coalesce((SELECT string_agg(sync_state, ',') FROM pg_stat_replication WHERE state = 'streaming'), '')`).Scan(&names, &syncState)
	if err != nil {
		return nil, "", err
	}
	if names == "" || (syncState != "sync" && syncState != "quorum") {
		return nil, fmt.Sprintf("%s is primary but replication is not synchronous (synchronous_standby_names %q, standbys %q)", primary.Name, names, syncState), nil
	}
	return primary, "", nil
}

// exec runs one SQL statement on node n.
func (c *Cluster) exec(ctx context.Context, n *Node, sql string) error {
	conn, err := pgx.Connect(ctx, c.NodeURL(n))
	if err != nil {
		return fmt.Errorf("pgcluster: %s: %w", n.Name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgcluster: %s: %s: %w", n.Name, sql, err)
	}
	return nil
}

// Primary returns the node the monitor holds as primary now (primary,
// or wait_primary without a standby, or single), nil if none: a node is
// counted only once it has reached the state the monitor asks of it, so a
// dead primary that last reported "primary" is not.
func (c *Cluster) Primary(ctx context.Context) (*Node, error) {
	mon, err := c.connectMonitor(ctx)
	if err != nil {
		return nil, err
	}
	defer mon.Close(context.Background())
	ss, err := c.states(ctx, mon)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		switch s.goal {
		case "primary", "wait_primary", "single":
			if s.reported == s.goal {
				return c.node(s.name), nil
			}
		}
	}
	return nil, nil
}

func (c *Cluster) node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Kill stops a whole node at once, as a lost machine would: SIGKILL to
// its pg_autoctl keeper, the postgres it supervises and every backend
// (one process group). It returns once its port refuses connections.
func (c *Cluster) Kill(n *Node) error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("pgcluster: %s is not running", n.Name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgcluster: kill %s: %w", n.Name, err)
	}
	<-done
	for range 100 {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.Port), 100*time.Millisecond)
		if err != nil {
			return nil
		}
		conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pgcluster: %s still accepts connections on %d after SIGKILL", n.Name, n.Port)
}

// Restore is what restoring a backup gives: a base backup of node from
// taken now (pg_basebackup, its WAL streamed with it) into a new data
// directory, and a PostgreSQL server of its own started on it, alone (no
// keeper, no standby, synchronous replication off). It returns a
// connection string to the restored database; Close stops the server.
func (c *Cluster) Restore(ctx context.Context, from *Node) (string, error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	r := &Node{Name: fmt.Sprintf("restored%d", len(c.restored)+1), Port: ports[0]}
	r.PGData = filepath.Join(c.Dir, r.Name)
	bin := filepath.Dir(c.tools.PGCtl)
	backup := c.commandOf(filepath.Join(bin, "pg_basebackup"), "-d", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", from.Port),
		"-D", r.PGData, "-X", "stream", "-c", "fast")
	if out, err := backup.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pgcluster: pg_basebackup: %w\n%s", err, out)
	}
	// postgresql.auto.conf is read last: the restored server listens on a
	// port of its own and waits for no standby.
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nsynchronous_standby_names = ''\n", r.Port, r.PGData)
	f, err := os.OpenFile(filepath.Join(r.PGData, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	cmd := c.commandOf(filepath.Join(bin, "postgres"), "-D", r.PGData)
	lw := &prefixWriter{w: c.log, prefix: r.Name + ": "}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("pgcluster: postgres %s: %w", r.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	c.restored = append(c.restored, r)
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", r.Port, DBName)
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			conn.Close(context.Background())
			return url, nil
		}
		if r.exited() {
			return "", fmt.Errorf("pgcluster: the restored server stopped (its output says why): %v", err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return "", fmt.Errorf("pgcluster: the restored server never answered: %w", err)
		}
	}
}

// Restart runs a killed node's keeper again: pg_auto_failover has it
// rejoin as the standby of the new primary.
func (c *Cluster) Restart(n *Node) error { return c.run(n) }

// Close kills every process of the cluster and removes its directory.
func (c *Cluster) Close() error {
	for _, n := range append(append([]*Node{c.Monitor}, c.Nodes...), c.restored...) {
		if n == nil {
			continue
		}
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	// The postgres processes were in the keepers' process groups; give
	// the kernel a moment to release their files before removing them.
	var err error
	for range 20 {
		if err = os.RemoveAll(c.Dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// exited reports whether n's pg_autoctl has stopped (or never started).
func (n *Node) exited() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return true
	}
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// run starts `pg_autoctl ARGS --pgdata n.PGData` (by default `run`), which
// stays, in a process group of its own.
func (c *Cluster) run(n *Node, args ...string) error {
	if len(args) == 0 {
		args = []string{"run"}
	}
	cmd := c.command(append(args, "--pgdata", n.PGData)...)
	lw := &prefixWriter{w: c.log, prefix: n.Name + ": "}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: pg_autoctl run %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	return nil
}

// autoctl runs one pg_autoctl command to its end.
func (c *Cluster) autoctl(ctx context.Context, args ...string) error {
	cmd := c.command(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: pg_autoctl: %w", err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	fmt.Fprintf(c.log, "$ pg_autoctl %s\n%s", strings.Join(args, " "), out.Bytes())
	if err != nil {
		return fmt.Errorf("pgcluster: pg_autoctl %s: %w\n%s", strings.Join(args[:2], " "), err, lastLines(out.String(), 10))
	}
	return nil
}

func (c *Cluster) command(args ...string) *exec.Cmd {
	return c.commandOf(c.tools.Autoctl, args...)
}

// commandOf runs a program as the cluster's user, in a process group of
// its own.
func (c *Cluster) commandOf(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(prog, args...)
	cmd.Dir = c.Dir
	cmd.Env = c.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	return cmd
}

// freePorts returns k ports that were free on 127.0.0.1 a moment ago.
func freePorts(k int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range k {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-k):], "\n")
}

// lockedWriter serializes writes from several processes' pipes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// prefixWriter writes what a node prints, line by line, with its name
// before each line.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		out.WriteString(p.prefix)
		out.Write(p.buf[:i+1])
		p.buf = p.buf[i+1:]
	}
	if out.Len() > 0 {
		if _, err := p.w.Write(out.Bytes()); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
