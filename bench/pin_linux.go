package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Pinning a node and its load apart. On a small machine a load generator
// that shares the node's cores takes more of them the more it offers, so
// "twice the capacity" would be measured on a node left with less CPU than
// when its capacity was: the figure would say more about the generator
// than the node. Split keeps them on different CPUs for a run: the node (a
// child process started by StartPinned) on the last CPU this process may
// use, the generator (this process, every thread) on the others.

// Split is a division of this process's CPUs between a child node and the
// load generator, for the length of a run.
type Split struct {
	Node, Load []int
	all        unix.CPUSet
	procs      int
}

// NewSplit divides the CPUs this process may run on: the last for the node,
// the rest for the load. It fails with fewer than two.
func NewSplit() (*Split, error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return nil, err
	}
	var cpus []int
	for i := 0; i < len(all)*64 && len(cpus) < all.Count(); i++ {
		if all.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return nil, fmt.Errorf("one CPU: nothing to split")
	}
	return &Split{Node: cpus[len(cpus)-1:], Load: cpus[:len(cpus)-1], all: all}, nil
}

func cpuSet(cpus []int) *unix.CPUSet {
	var s unix.CPUSet
	for _, c := range cpus {
		s.Set(c)
	}
	return &s
}

// StartPinned starts cmd on the node's CPUs: the child inherits the
// affinity of the thread that forks it, and its Go runtime sizes GOMAXPROCS
// to it.
func (s *Split) StartPinned(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.SchedSetaffinity(0, cpuSet(s.Node)); err != nil {
		return err
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &s.all); err == nil {
		err = rerr
	}
	return err
}

// PinLoad moves every thread of this process to the load's CPUs (threads
// made later inherit it from the thread that makes them) and sets
// GOMAXPROCS to their number; Unpin undoes both.
func (s *Split) PinLoad() error {
	s.procs = runtime.GOMAXPROCS(len(s.Load))
	return s.setAll(cpuSet(s.Load))
}

// Unpin gives this process all its CPUs back.
func (s *Split) Unpin() error {
	if s.procs > 0 {
		runtime.GOMAXPROCS(s.procs)
	}
	return s.setAll(&s.all)
}

func (s *Split) setAll(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread that exits meanwhile is not an error.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return err
		}
	}
	return nil
}
