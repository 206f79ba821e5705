package sim

import (
	"math/bits"
	"math/rand/v2"
)

// Independent random streams drawn from one seed.
const (
	streamPerson uint64 = iota + 1
	streamOfficials
	streamOutbreak
	streamRound
)

// newRand returns a PCG-backed generator for one stream of the seed.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, mix64(stream^0x5851f42d4c957f2d)))
}

// mix64 is the SplitMix64 finaliser: a fast bijective hash of 64 bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// perm is a keyed permutation of [0, n): a four-round Feistel network over
// the smallest even number of bits that covers n, with cycle walking. It lets
// person i get a unique ID number and phone number without a table.
type perm struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newPerm(n, key uint64) perm {
	b := uint(bits.Len64(n - 1))
	if b < 2 {
		b = 2
	}
	b += b % 2
	p := perm{n: n, half: b / 2, mask: 1<<(b/2) - 1}
	for i := range p.keys {
		key = mix64(key + 0x9e3779b97f4a7c15)
		p.keys[i] = key
	}
	return p
}

// at returns the image of x, which must be below n.
func (p *perm) at(x uint64) uint64 {
	for {
		l, r := x>>p.half, x&p.mask
		for _, k := range p.keys {
			l, r = r, l^(mix64(r^k)&p.mask)
		}
		x = l<<p.half | r
		if x < p.n {
			return x
		}
	}
}
