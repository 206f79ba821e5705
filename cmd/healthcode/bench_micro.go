package main

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/qr"
	"healthcode/rules"
	"healthcode/sim"
)

// benchRulesEval evaluates the baseline rule set over the evidence summaries
// of the synthetic city's outbreak, against the same logic written in Go.
func benchRulesEval(env *bench.Env) (bench.Result, error) {
	rs, err := rules.Load("baseline.yaml", rules.Baseline())
	if err != nil {
		return bench.Result{}, err
	}
	city, err := sim.New(sim.Config{Seed: 1, People: 10_000})
	if err != nil {
		return bench.Result{}, err
	}
	bySubject := map[string][]healthcode.Evidence{}
	var last time.Time
	for i, ev := range city.Outbreak() {
		e := ev.Evidence
		e.ID, e.Subject = int64(i+1), ev.SubjectID
		bySubject[ev.SubjectID] = append(bySubject[ev.SubjectID], e)
		last = ev.At
	}
	now := last.Add(time.Hour)
	var sums []rules.Summary
	for _, evs := range bySubject {
		sums = append(sums, rules.Summarize(evs, now))
	}
	sums = append(sums, rules.Summarize(nil, now)) // most people have no evidence at all
	var sink string
	d := env.RoundDur()
	p, err := env.Alternate(func() (float64, error) {
		return bench.Loop(d, func(from, n int) error {
			for i := from; i < from+n; i++ {
				r, err := rs.Match(&sums[i%len(sums)])
				if err != nil {
					return err
				}
				sink = r.ID
			}
			return nil
		})
	}, func() (float64, error) {
		return bench.Loop(d, func(from, n int) error {
			for i := from; i < from+n; i++ {
				_, sink = rules.EvaluateBaselineByHand(&sums[i%len(sums)], now)
			}
			return nil
		})
	})
	_ = sink
	return p.Fill(bench.Result{Unit: "evals/s", Baseline: "baseline rules hand-written in Go", Target: 1.0 / 30}), err
}

// qrBench is what both QR figures measure on: a signer, its trust list,
// claims, one token, and the size of the structure its signature covers
// (the message raw Ed25519 is measured on).
type qrBench struct {
	signer *qr.Signer
	trust  *qr.Trust
	claims *qr.Claims
	text   string
	size   int
}

func newQRBench() (*qrBench, error) {
	key, err := qr.GenerateKey("Ed25519")
	if err != nil {
		return nil, err
	}
	q := &qrBench{trust: qr.NewTrust()}
	if q.signer, err = qr.NewSigner(key); err != nil {
		return nil, err
	}
	if err := q.trust.Add("410100", q.signer.Public()); err != nil {
		return nil, err
	}
	now := time.Now().Truncate(time.Second)
	q.claims = &qr.Claims{Region: "410100", Subject: "pabcdefghijklmnopqrstuvwx", MaskedName: "张*明", Colour: healthcode.Green,
		IssuedAt: now, Expires: now.Add(5 * time.Minute), RuleSetVersion: "cn-national-2022.9"}
	if q.text, err = q.signer.Issue(q.claims); err != nil {
		return nil, err
	}
	q.size, err = qr.SignedSize(q.text)
	return q, err
}

// benchQRVerify measures full offline verifications against raw Ed25519
// verification of a message of the signed structure's size.
func benchQRVerify(env *bench.Env) (bench.Result, error) {
	q, err := newQRBench()
	if err != nil {
		return bench.Result{}, err
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, q.size)
	sig := ed25519.Sign(priv, msg)
	now := q.claims.IssuedAt.Add(time.Minute)
	d := env.RoundDur()
	p, err := env.Alternate(func() (float64, error) {
		return bench.Loop(d, func(_, n int) error {
			for range n {
				if _, err := qr.Verify(q.text, q.trust, now); err != nil {
					return err
				}
			}
			return nil
		})
	}, func() (float64, error) {
		return bench.Loop(d, func(_, n int) error {
			for range n {
				if !ed25519.Verify(pub, msg, sig) {
					return fmt.Errorf("bad signature")
				}
			}
			return nil
		})
	})
	return p.Fill(bench.Result{Unit: "verifies/s", Baseline: fmt.Sprintf("ed25519.Verify of %d bytes", q.size), Target: 0.8}), err
}

// benchQRIssue measures issuances against raw Ed25519 signing.
func benchQRIssue(env *bench.Env) (bench.Result, error) {
	q, err := newQRBench()
	if err != nil {
		return bench.Result{}, err
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, q.size)
	d := env.RoundDur()
	p, err := env.Alternate(func() (float64, error) {
		return bench.Loop(d, func(_, n int) error {
			for range n {
				if _, err := q.signer.Issue(q.claims); err != nil {
					return err
				}
			}
			return nil
		})
	}, func() (float64, error) {
		return bench.Loop(d, func(_, n int) error {
			for range n {
				ed25519.Sign(priv, msg)
			}
			return nil
		})
	})
	return p.Fill(bench.Result{Unit: "issues/s", Baseline: fmt.Sprintf("ed25519.Sign of %d bytes", q.size), Target: 0.7}), err
}
