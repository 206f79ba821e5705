package bench

import (
	"errors"
	"fmt"
)

// ErrSkipped is what a figure returns (wrapped, by Skip) when this machine
// lacks what it needs: the runner says why on stderr and goes on, and the
// figure has no line.
var ErrSkipped = errors.New("skipped")

// Skip returns ErrSkipped with the reason.
func Skip(reason string) error { return fmt.Errorf("%w: %s", ErrSkipped, reason) }
