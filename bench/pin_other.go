//go:build !linux

package bench

import (
	"errors"
	"os/exec"
)

// Split is a division of the CPUs between a child node and the load
// generator; only Linux has one (pin_linux.go).
type Split struct{ Node, Load []int }

// NewSplit fails: CPU affinity is set only on Linux.
func NewSplit() (*Split, error) { return nil, errors.New("CPU affinity is set only on Linux") }

// StartPinned starts cmd unpinned.
func (s *Split) StartPinned(cmd *exec.Cmd) error { return cmd.Start() }

// PinLoad does nothing.
func (s *Split) PinLoad() error { return nil }

// Unpin does nothing.
func (s *Split) Unpin() error { return nil }
