package tlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
)

// Witness cosignatures follow C2SP tlog-cosignature (c2sp.org/tlog-cosignature):
// a witness signs, with Ed25519, the message
//
//	cosignature/v1\n
//	time <unix seconds>\n
//	<checkpoint text>
//
// and the signed-note signature is the 8-byte big-endian timestamp followed
// by the 64-byte Ed25519 signature. Its public key has signature type 0x04
// (c2sp.org/signed-note): the key hash is over the name, a newline, 0x04 and
// the 32-byte public key. x/mod's note package checks the note format;
// CosignatureSigner and CosignatureVerifier plug this algorithm into it.
// A witness key file keeps the secret as an ordinary note secret key (the
// Ed25519 seed, type 0x01), so one seed gives the witness its cosignature
// key.

// splitKey splits a note key into n fields at its first n-1 plus signs
// (the last field, base64, may hold more), or returns nil.
func splitKey(k string, n int) []string {
	var out []string
	for range n - 1 {
		before, after, ok := strings.Cut(k, "+")
		if !ok {
			return nil
		}
		out, k = append(out, before), after
	}
	return append(out, k)
}

// cosignatureV1 is the signature type of C2SP tlog-cosignature/v1.
const cosignatureV1 = 0x04

// ed25519Type is the signed-note signature type of plain Ed25519.
const ed25519Type = 0x01

func keyHash(name string, typedKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(typedKey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// cosignedMessage is what a cosignature/v1 signs: only a well-formed
// checkpoint is ever signed, so a witness key signs nothing else.
func cosignedMessage(t uint64, text []byte) ([]byte, error) {
	if _, err := parseCheckpointText(string(text)); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, text), nil
}

// CosignatureSigner makes C2SP cosignature/v1 signatures (a note.Signer).
// The timestamp comes from Clock.
type CosignatureSigner struct {
	name  string
	hash  uint32
	key   ed25519.PrivateKey
	Clock healthcode.Clock
}

var _ note.Signer = (*CosignatureSigner)(nil)

// NewCosignatureSigner returns the cosignature/v1 signer of a witness whose
// secret note key (as GenerateKey writes it) is skey. Returns EINVALID
// (detail "tlog.bad_key") if skey is no Ed25519 note secret key.
func NewCosignatureSigner(skey string, clock healthcode.Clock) (*CosignatureSigner, error) {
	bad := func(why string) error {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "malformed witness secret key: %s", why)
	}
	parts := splitKey(strings.TrimSpace(skey), 5)
	if parts == nil || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, bad("want PRIVATE+KEY+name+hash+key")
	}
	name := parts[2]
	if err := checkOrigin(name); err != nil {
		return nil, bad("bad name")
	}
	k, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != ed25519Type {
		return nil, bad("not an Ed25519 seed")
	}
	// The secret key's own hash is of its type-0x01 public key: checking it
	// catches a damaged file.
	priv := ed25519.NewKeyFromSeed(k[1:])
	pub := priv.Public().(ed25519.PublicKey)
	if h, err := strconv.ParseUint(parts[3], 16, 32); err != nil || len(parts[3]) != 8 ||
		uint32(h) != keyHash(name, append([]byte{ed25519Type}, pub...)) {
		return nil, bad("key hash does not match")
	}
	if clock == nil {
		clock = healthcode.SystemClock{}
	}
	return &CosignatureSigner{name: name, hash: keyHash(name, append([]byte{cosignatureV1}, pub...)), key: priv, Clock: clock}, nil
}

// Name implements note.Signer.
func (s *CosignatureSigner) Name() string { return s.name }

// KeyHash implements note.Signer.
func (s *CosignatureSigner) KeyHash() uint32 { return s.hash }

// Sign implements note.Signer: msg must be a checkpoint's text.
func (s *CosignatureSigner) Sign(msg []byte) ([]byte, error) {
	t := s.Clock.Now().Unix()
	if t < 0 {
		return nil, fmt.Errorf("tlog.CosignatureSigner: clock before 1970")
	}
	m, err := cosignedMessage(uint64(t), msg)
	if err != nil {
		return nil, fmt.Errorf("tlog.CosignatureSigner: %w", err)
	}
	return append(binary.BigEndian.AppendUint64(nil, uint64(t)), ed25519.Sign(s.key, m)...), nil
}

// VerifierKey returns the witness's public cosignature key
// ("name+hash+base64(0x04 || key)"), what nodes are given.
func (s *CosignatureSigner) VerifierKey() string {
	pub := s.key.Public().(ed25519.PublicKey)
	return fmt.Sprintf("%s+%08x+%s", s.name, s.hash, base64.StdEncoding.EncodeToString(append([]byte{cosignatureV1}, pub...)))
}

// Verifier returns the verifier of the signer's cosignatures.
func (s *CosignatureSigner) Verifier() *CosignatureVerifier {
	return &CosignatureVerifier{name: s.name, hash: s.hash, key: s.key.Public().(ed25519.PublicKey)}
}

// CosignatureVerifier checks C2SP cosignature/v1 signatures (a
// note.Verifier).
type CosignatureVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

var _ note.Verifier = (*CosignatureVerifier)(nil)

// Name implements note.Verifier.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash implements note.Verifier.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// Verify implements note.Verifier.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	m, err := cosignedMessage(binary.BigEndian.Uint64(sig), msg)
	if err != nil {
		return false
	}
	return ed25519.Verify(v.key, m, sig[8:])
}

// ParseWitnessVerifier parses a witness's public key: a C2SP
// cosignature/v1 key (type 0x04). A plain Ed25519 note key (type 0x01) is
// refused with a message saying what to give instead (detail
// "tlog.witness_key_type"): witnesses cosign per C2SP tlog-cosignature.
func ParseWitnessVerifier(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	bad := func(format string, args ...any) error {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "malformed witness key %q: %s", vkey, fmt.Sprintf(format, args...))
	}
	parts := splitKey(vkey, 3)
	if parts == nil {
		return nil, bad("want name+hash+key")
	}
	name := parts[0]
	if err := checkOrigin(name); err != nil {
		return nil, bad("bad name")
	}
	k, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(k) == 0 {
		return nil, bad("the key is not base64")
	}
	switch {
	case k[0] == ed25519Type:
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.witness_key_type",
			"witness key %q is a plain Ed25519 note key (type 0x01); witnesses cosign per C2SP tlog-cosignature: give the witness's cosignature/v1 key (type 0x04), which `healthcode witness --key FILE --print-key` prints", name)
	case k[0] != cosignatureV1 || len(k) != 1+ed25519.PublicKeySize:
		return nil, bad("not a cosignature/v1 Ed25519 key")
	}
	h, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 || uint32(h) != keyHash(name, k) {
		return nil, bad("key hash does not match")
	}
	return &CosignatureVerifier{name: name, hash: uint32(h), key: ed25519.PublicKey(k[1:])}, nil
}
