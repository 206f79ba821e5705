package tlog

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxCheckpointSize bounds a signed checkpoint (text and signatures).
const MaxCheckpointSize = 64 << 10

// Checkpoint is an opened C2SP tlog-checkpoint: the body of a signed note
// whose signature by one of the log's keys has been verified.
type Checkpoint struct {
	Origin     string
	Size       int64
	Root       tlog.Hash
	Extensions []string
	// Signatures are the verified signatures (log keys, or witnesses'
	// keys where Cosigners was asked).
	Signatures []note.Signature
	// Note is the signed note exactly as received, signatures included.
	Note []byte
}

// Domain returns the checkpoint in the form the store keeps it, recorded at t.
func (c *Checkpoint) Domain(t time.Time) *healthcode.Checkpoint {
	return &healthcode.Checkpoint{Size: c.Size, Root: c.Root, Note: c.Note, Time: t}
}

// GenerateKey returns a new Ed25519 note key pair named name (the log's
// origin, or a witness's name): skey is secret, vkey is published.
func GenerateKey(random io.Reader, name string) (skey, vkey string, err error) {
	if err := checkOrigin(name); err != nil {
		return "", "", err
	}
	if random == nil {
		random = rand.Reader
	}
	skey, vkey, err = note.GenerateKey(random, name)
	if err != nil {
		return "", "", fmt.Errorf("tlog.GenerateKey: %w", err)
	}
	return skey, vkey, nil
}

// ParseSigner parses a secret note key as GenerateKey returns it (and as a
// key file holds it, surrounding white space allowed). Returns EINVALID
// (detail "tlog.bad_key") if it is malformed.
func ParseSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "malformed signing key: %v", err)
	}
	return s, nil
}

// ParseVerifier parses a public note key ("name+hash+base64").
func ParseVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_key", "malformed verifier key %q: %v", strings.TrimSpace(vkey), err)
	}
	return v, nil
}

// ParseVerifiers parses public note keys into a verifier set.
func ParseVerifiers(vkeys ...string) (note.Verifiers, error) {
	vs := make([]note.Verifier, 0, len(vkeys))
	for _, k := range vkeys {
		v, err := ParseVerifier(k)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}

func checkOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.ContainsRune(origin, '+') ||
		strings.IndexFunc(origin, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.origin", "origin %q must be non-empty with no spaces or plus signs", origin)
	}
	return nil
}

// FormatCheckpoint returns the C2SP tlog-checkpoint body: the origin line,
// the decimal size, the base64 root hash and the extension lines.
func FormatCheckpoint(origin string, size int64, root tlog.Hash, ext ...string) ([]byte, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative tree size %d", size)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
	for _, e := range ext {
		if e == "" || !utf8.ValidString(e) || strings.IndexFunc(e, unicode.IsControl) >= 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.checkpoint_extension", "checkpoint extension lines must be non-empty printable text")
		}
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// SignCheckpoint returns the signed note of a checkpoint.
func SignCheckpoint(origin string, size int64, root tlog.Hash, signer note.Signer, ext ...string) ([]byte, error) {
	text, err := FormatCheckpoint(origin, size, root, ext...)
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, fmt.Errorf("tlog.SignCheckpoint: %w", err)
	}
	return msg, nil
}

func malformedCheckpoint(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.checkpoint_malformed", "malformed checkpoint: "+format, args...)
}

// parseCheckpointText parses a checkpoint body strictly.
func parseCheckpointText(text string) (*Checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, malformedCheckpoint("no final newline")
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return nil, malformedCheckpoint("fewer than three lines")
	}
	for _, l := range lines {
		if l == "" {
			return nil, malformedCheckpoint("empty line")
		}
	}
	c := &Checkpoint{Origin: lines[0]}
	size, ok := parseDecimal(lines[1])
	if !ok {
		return nil, malformedCheckpoint("tree size %q is not a decimal number", lines[1])
	}
	c.Size = size
	root, ok := parseHash(lines[2])
	if !ok {
		return nil, malformedCheckpoint("root hash is not 32 bytes of base64")
	}
	c.Root = root
	if len(lines) > 3 {
		c.Extensions = lines[3:]
	}
	return c, nil
}

// parseDecimal parses a non-negative int64 written in ASCII digits with no
// sign and no leading zero.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseHash decodes exactly one canonically base64-encoded hash.
func parseHash(s string) (tlog.Hash, bool) {
	var h tlog.Hash
	b, ok := decodeBase64(s)
	if !ok || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// decodeBase64 accepts only the canonical standard encoding: one string has
// one meaning, so that flipping a byte never leaves the data unchanged.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// OpenCheckpoint verifies a signed checkpoint of the log named origin against
// the log's keys and parses it. It returns EINVALID with detail
// "tlog.checkpoint_malformed" for malformed text, "tlog.bad_signature" if a
// known key's signature does not verify, "tlog.unknown_key" if no known key
// signed it, and "tlog.wrong_origin" if it is another log's checkpoint.
//
// verifiers must hold only the log's keys: any one valid signature from them
// makes the checkpoint the log's. Signatures by keys not in verifiers (the
// witnesses' cosignatures, say) are kept but not checked beyond their form;
// use Cosigners to check them.
func OpenCheckpoint(msg []byte, origin string, verifiers note.Verifiers) (*Checkpoint, error) {
	if len(msg) > MaxCheckpointSize {
		return nil, malformedCheckpoint("%d bytes, more than %d", len(msg), MaxCheckpointSize)
	}
	n, err := note.Open(msg, verifiers)
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		// Say what is wrong with the text first, then whose it is.
		c, perr := parseCheckpointText(unverified.Note.Text)
		if perr != nil {
			return nil, perr
		}
		if c.Origin != origin {
			return nil, wrongOrigin(c.Origin, origin)
		}
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.unknown_key", "checkpoint is signed by no key known for %s", origin)
	case err != nil:
		return nil, noteError(err)
	}
	for _, s := range append(n.Sigs[:len(n.Sigs):len(n.Sigs)], n.UnverifiedSigs...) {
		if _, ok := decodeBase64(s.Base64); !ok {
			return nil, malformedCheckpoint("signature by %s is not canonical base64", s.Name)
		}
	}
	c, err := parseCheckpointText(n.Text)
	if err != nil {
		return nil, err
	}
	if c.Origin != origin {
		return nil, wrongOrigin(c.Origin, origin)
	}
	c.Signatures = n.Sigs
	c.Note = bytes.Clone(msg)
	return c, nil
}

// noteError maps an error of note.Open to the package's errors.
func noteError(err error) error {
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.unknown_key", "checkpoint is signed by no known key")
	case errors.As(err, &invalid):
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.bad_signature", "signature by %s does not verify", invalid.Name)
	}
	return malformedCheckpoint("%v", err)
}

func wrongOrigin(got, want string) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.wrong_origin", "checkpoint is for log %q, not %q", got, want)
}

// Cosigners returns the names of the witnesses in witnesses whose
// cosignature on the checkpoint msg verifies. A cosignature by a listed key
// that does not verify is an error (EINVALID, "tlog.bad_signature").
func Cosigners(msg []byte, witnesses note.Verifiers) ([]string, error) {
	n, err := note.Open(msg, witnesses)
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		return nil, nil
	} else if err != nil {
		return nil, noteError(err)
	}
	names := make([]string, len(n.Sigs))
	for i, s := range n.Sigs {
		names[i] = s.Name
	}
	return names, nil
}

func inconsistent(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.inconsistent", format, args...)
}

// CheckConsistent checks that next extends old: same origin, no smaller, and
// proof (tlog.ProveTree(next.Size, old.Size)) shows old's tree is a prefix of
// next's. Returns EINVALID with detail "tlog.inconsistent" otherwise (or
// "tlog.wrong_origin"). A log must never sign, and a witness never cosign,
// a checkpoint that fails this against the last one.
func CheckConsistent(old, next Checkpoint, proof tlog.TreeProof) error {
	if old.Origin != next.Origin {
		return wrongOrigin(next.Origin, old.Origin)
	}
	switch {
	case next.Size < old.Size:
		return inconsistent("checkpoint of size %d is older than the one already seen, of size %d", next.Size, old.Size)
	case old.Size == 0:
		return nil
	case next.Size == old.Size:
		if next.Root != old.Root {
			return inconsistent("two checkpoints of size %d with different roots: the log has forked", next.Size)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, next.Size, next.Root, old.Size, old.Root); err != nil {
		return inconsistent("tree of size %d does not extend the tree of size %d: %v", next.Size, old.Size, err)
	}
	return nil
}

func tampered(detail, format string, args ...any) error {
	return healthcode.Errorfd(healthcode.ETAMPERED, detail, format, args...)
}

// readErr turns a failed read of stored hashes the tree needs into ETAMPERED
// when the hashes are missing, and wraps any other error.
func readErr(what string, err error) error {
	if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
		return tampered("tlog.hash_missing", "%s: stored hashes are missing: %v", what, healthcode.ErrorMessage(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// CheckStore checks a store holding size leaves against the last checkpoint
// the log published: the store must not be shorter (a deleted leaf, a
// restored backup) and its tree must extend the checkpoint's (a fork).
// Returns ETAMPERED with detail "tlog.truncated", "tlog.fork" or
// "tlog.hash_missing". It reads O(log size) hashes; VerifyTree checks every
// hash.
func CheckStore(size int64, r tlog.HashReader, cp *Checkpoint) error {
	if cp == nil || cp.Size == 0 {
		return nil
	}
	if size < cp.Size {
		return tampered("tlog.truncated", "the store holds %d leaves but checkpoint %d was published: leaves were deleted or an older backup restored", size, cp.Size)
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return readErr("tlog.CheckStore", err)
	}
	if size == cp.Size {
		if root != cp.Root {
			return tampered("tlog.fork", "two trees of size %d with different roots: the store's is %s, the published checkpoint's %s", size, root, cp.Root)
		}
		return nil
	}
	proof, err := tlog.ProveTree(size, cp.Size, r)
	if err != nil {
		return readErr("tlog.CheckStore", err)
	}
	if err := tlog.CheckTree(proof, size, root, cp.Size, cp.Root); err != nil {
		return tampered("tlog.fork", "the store's tree of size %d does not extend the published checkpoint of size %d", size, cp.Size)
	}
	return nil
}

// SignTree signs a checkpoint for the first size leaves of the store r,
// refusing (ETAMPERED, as CheckStore) if that tree does not extend last, the
// last checkpoint signed: the log never signs two inconsistent checkpoints.
// last may be nil before the first checkpoint.
func SignTree(origin string, size int64, r tlog.HashReader, last *Checkpoint, signer note.Signer, ext ...string) ([]byte, error) {
	if last != nil && last.Origin != "" && last.Origin != origin {
		return nil, wrongOrigin(last.Origin, origin)
	}
	if err := CheckStore(size, r, last); err != nil {
		return nil, err
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return nil, readErr("tlog.SignTree", err)
	}
	return SignCheckpoint(origin, size, root, signer, ext...)
}
