package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A node served by a child process, for the runs that overload it (its
// memory is then its own, not the load generator's) or kill it
// (`healthcode bench --overload`, `--faults`, and their tests).

// childCommand says how to start `healthcode ARGS…` as a child: the bench
// runs its own executable; a test sets it to run the test binary as the
// command (TestMain's HEALTHCODE_TEST_CHILD_ARGS).
var childCommand = func(args []string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, args...)
}

type childServer struct {
	dir, addr string
	extra     []string
	cmd       *exec.Cmd
	logs      *childLog
	exited    chan struct{}
}

type childLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *childLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pickAddr returns a loopback address with a port free now.
func pickAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild runs `healthcode serve` on dir at a free loopback port with the
// extra flags, and returns once /healthz answers.
func startChild(dir string, extra ...string) (*childServer, error) {
	addr, err := pickAddr()
	if err != nil {
		return nil, err
	}
	c := &childServer{dir: dir, addr: addr, extra: extra, logs: &childLog{}}
	return c, c.start()
}

func (c *childServer) url() string { return "http://" + c.addr }

func (c *childServer) start() error {
	args := append([]string{"serve", "--data", c.dir, "--addr", c.addr, "--log-format", "json"}, c.extra...)
	c.cmd = childCommand(args)
	dieWithParent(c.cmd)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case <-c.exited:
			return fmt.Errorf("the node exited at start: %.2000s", c.logs.String())
		default:
		}
		if resp, err := client.Get(c.url() + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.kill()
	return fmt.Errorf("the node did not answer /healthz within 60 s: %.2000s", c.logs.String())
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *childServer) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop asks the node to shut down (SIGTERM) and waits.
func (c *childServer) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.kill()
	}
}

// rssKiB reads the child's resident set size and its peak (VmRSS, VmHWM)
// from /proc; zeros where /proc is not there.
func (c *childServer) rssKiB() (now, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			now = n
		case "VmHWM":
			peak = n
		}
	}
	return now, peak
}
