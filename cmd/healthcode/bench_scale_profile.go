package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// profile writes a CPU profile of fn into --profile-dir as NAME.pprof, when
// the flag is set (the city's figures are measured once, not in rounds).
func (b *cityBench) profile(name string, fn func() error) error {
	if b.env.ProfileDir == "" {
		return fn()
	}
	f, err := os.Create(filepath.Join(b.env.ProfileDir, name+".pprof"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}
