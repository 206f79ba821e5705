package qr

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/veraison/go-cose"

	"healthcode"
)

// Trust is the set of public keys whose tokens a verifier accepts, each bound
// to the one region it may speak for. Its file is JSON:
//
//	{"keys": [{"kid": "<base64 key id>", "region": "410100",
//	           "alg": "Ed25519", "public_key": "<base64 DER SubjectPublicKeyInfo>"}]}
//
// "alg" is "Ed25519" or "ES256"; the kid must be the one KeyID computes from
// the key. A key may also carry "not_before" and "not_after" (RFC 3339: no
// code issued before the first is accepted, and no code at all after the
// second) and "revoked_codes" (the CodeHash of single codes it signed that
// are no longer accepted); the file may list "revoked_keys" (kids whose
// codes are refused as revoked, whatever else lists them). A federation
// trust list (package federation) is turned into this form; a node's own
// file has only keys. A Trust is safe for concurrent use.
type Trust struct {
	mu      sync.RWMutex
	keys    map[string]*trustedKey // by kid
	revoked map[string]bool        // kids revoked
}

type trustedKey struct {
	kid       []byte
	region    string
	alg       string
	spki      []byte
	verifier  cose.Verifier
	notBefore time.Time // zero: no bound
	notAfter  time.Time // zero: no bound
	codes     map[string]bool
}

type trustFile struct {
	Keys        []trustEntry `json:"keys"`
	RevokedKeys []string     `json:"revoked_keys,omitempty"`
}

type trustEntry struct {
	KID          string     `json:"kid"`
	Region       string     `json:"region"`
	Alg          string     `json:"alg"`
	PublicKey    string     `json:"public_key"`
	NotBefore    *time.Time `json:"not_before,omitempty"`
	NotAfter     *time.Time `json:"not_after,omitempty"`
	RevokedCodes []string   `json:"revoked_codes,omitempty"`
}

// KeyBounds is what a trust list may say of one key beyond its region:
// when it may be used, and which single codes it signed are revoked.
type KeyBounds struct {
	NotBefore, NotAfter time.Time // zero: no bound
	// RevokedCodes are CodeHash values of codes the key signed.
	RevokedCodes [][]byte
}

// NewTrust returns an empty trust list.
func NewTrust() *Trust {
	return &Trust{keys: make(map[string]*trustedKey), revoked: make(map[string]bool)}
}

// ParseTrust parses a trust-list file. It returns EINVALID (detail
// "qr.trust") if the file is not as documented on Trust: unknown fields, a
// key that does not parse or does not match its kid or alg, a bad region, or
// a kid listed twice.
func ParseTrust(b []byte) (*Trust, error) {
	var f trustFile
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "trust list: %v", err)
	}
	if d.More() {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "trust list: data after the JSON object")
	}
	t := NewTrust()
	for i, e := range f.Keys {
		k, err := parseTrustEntry(e)
		if err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "trust list: key %d: %v", i, err)
		}
		if _, dup := t.keys[string(k.kid)]; dup {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "trust list: key %d: kid %s listed twice", i, e.KID)
		}
		t.keys[string(k.kid)] = k
	}
	for i, r := range f.RevokedKeys {
		kid, err := base64.StdEncoding.DecodeString(r)
		if err != nil || len(kid) != kidLen {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "trust list: revoked key %d: %q is not a key id", i, r)
		}
		t.revoked[string(kid)] = true
		delete(t.keys, string(kid)) // a revoked key verifies nothing, also for readers of the file that know no revocations
	}
	return t, nil
}

// kidLen is the length of a key id.
const kidLen = 8

// codeHashLen is the length of a CodeHash.
const codeHashLen = 16

func parseTrustEntry(e trustEntry) (*trustedKey, error) {
	spki, err := base64.StdEncoding.DecodeString(e.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public_key: %v", err)
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("public_key: %v", err)
	}
	k, err := newTrustedKey(e.Region, pub)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(k.spki, spki) {
		return nil, fmt.Errorf("public_key is not in canonical DER")
	}
	if kid, err := base64.StdEncoding.DecodeString(e.KID); err != nil || !bytes.Equal(kid, k.kid) {
		return nil, fmt.Errorf("kid %q is not the key's id %s", e.KID, base64.StdEncoding.EncodeToString(k.kid))
	}
	if e.Alg != k.alg {
		return nil, fmt.Errorf("alg %q does not match the %s key", e.Alg, k.alg)
	}
	b := KeyBounds{}
	if e.NotBefore != nil {
		b.NotBefore = *e.NotBefore
	}
	if e.NotAfter != nil {
		b.NotAfter = *e.NotAfter
	}
	for j, c := range e.RevokedCodes {
		h, err := base64.StdEncoding.DecodeString(c)
		if err != nil || len(h) != codeHashLen {
			return nil, fmt.Errorf("revoked code %d: %q is not a code hash", j, c)
		}
		b.RevokedCodes = append(b.RevokedCodes, h)
	}
	if err := k.bound(b); err != nil {
		return nil, err
	}
	return k, nil
}

// bound sets the key's validity and revoked codes.
func (k *trustedKey) bound(b KeyBounds) error {
	if !b.NotBefore.IsZero() && !b.NotAfter.IsZero() && !b.NotAfter.After(b.NotBefore) {
		return fmt.Errorf("not_after %s is not after not_before %s", b.NotAfter.Format(time.RFC3339), b.NotBefore.Format(time.RFC3339))
	}
	k.notBefore, k.notAfter = b.NotBefore.UTC(), b.NotAfter.UTC()
	for _, h := range b.RevokedCodes {
		if len(h) != codeHashLen {
			return fmt.Errorf("a revoked code hash has %d bytes, not %d", len(h), codeHashLen)
		}
		if k.codes == nil {
			k.codes = make(map[string]bool)
		}
		k.codes[string(h)] = true
	}
	return nil
}

func newTrustedKey(region string, pub crypto.PublicKey) (*trustedKey, error) {
	if err := healthcode.ValidateRegion(region); err != nil {
		return nil, err
	}
	alg, err := keyAlg(pub)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	v, err := cose.NewVerifier(coseAlg(alg), pub)
	if err != nil {
		return nil, err
	}
	return &trustedKey{kid: kidOf(spki), region: region, alg: alg, spki: spki, verifier: v}, nil
}

// Add trusts pub for tokens of region. Adding the same key for the same
// region again does nothing; the same key id for another region or another
// key returns ECONFLICT (detail "qr.kid_conflict"). A bad region or an
// unsupported key returns EINVALID.
func (t *Trust) Add(region string, pub crypto.PublicKey) error {
	return t.AddBounded(region, pub, KeyBounds{})
}

// AddBounded is Add for a key with a validity period or revoked codes. A
// key already trusted keeps its bounds. A key whose id was revoked (see
// Revoke) is not added, and stays revoked.
func (t *Trust) AddBounded(region string, pub crypto.PublicKey, b KeyBounds) error {
	k, err := newTrustedKey(region, pub)
	if err != nil {
		return err
	}
	if err := k.bound(b); err != nil {
		return healthcode.Errorfd(healthcode.EINVALID, "qr.trust", "%v", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[string]*trustedKey)
	}
	if t.revoked[string(k.kid)] {
		return nil
	}
	if old, ok := t.keys[string(k.kid)]; ok {
		if old.region == k.region && bytes.Equal(old.spki, k.spki) {
			return nil
		}
		return healthcode.Errorfd(healthcode.ECONFLICT, "qr.kid_conflict", "key id %s is already trusted for region %s",
			base64.StdEncoding.EncodeToString(k.kid), old.region)
	}
	t.keys[string(k.kid)] = k
	return nil
}

// Revoke stops trusting the key with the id for good: its codes are
// refused with ReasonKeyRevoked, and adding it again does nothing.
func (t *Trust) Revoke(kid []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revoked == nil {
		t.revoked = make(map[string]bool)
	}
	t.revoked[string(kid)] = true
	delete(t.keys, string(kid))
}

// remove stops trusting the key with the id.
func (t *Trust) remove(kid []byte) {
	t.mu.Lock()
	delete(t.keys, string(kid))
	t.mu.Unlock()
}

// Len returns the number of trusted keys.
func (t *Trust) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// Marshal returns the trust-list file, keys ordered by region then kid, so
// that the same set of keys always gives the same bytes.
func (t *Trust) Marshal() ([]byte, error) {
	t.mu.RLock()
	f := trustFile{Keys: make([]trustEntry, 0, len(t.keys))}
	for _, k := range t.keys {
		e := trustEntry{
			KID:       base64.StdEncoding.EncodeToString(k.kid),
			Region:    k.region,
			Alg:       k.alg,
			PublicKey: base64.StdEncoding.EncodeToString(k.spki),
		}
		if !k.notBefore.IsZero() {
			e.NotBefore = &k.notBefore
		}
		if !k.notAfter.IsZero() {
			e.NotAfter = &k.notAfter
		}
		for h := range k.codes {
			e.RevokedCodes = append(e.RevokedCodes, base64.StdEncoding.EncodeToString([]byte(h)))
		}
		slices.Sort(e.RevokedCodes)
		f.Keys = append(f.Keys, e)
	}
	for kid := range t.revoked {
		f.RevokedKeys = append(f.RevokedKeys, base64.StdEncoding.EncodeToString([]byte(kid)))
	}
	t.mu.RUnlock()
	slices.Sort(f.RevokedKeys)
	slices.SortFunc(f.Keys, func(a, b trustEntry) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.KID, b.KID))
	})
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("qr.Trust.Marshal: %w", err)
	}
	return append(b, '\n'), nil
}

// Merge adds every key of o (with its bounds) and every revocation of o to
// t. A key of o whose id t trusts for another region or key returns
// ECONFLICT, as Add does.
func (t *Trust) Merge(o *Trust) error {
	o.mu.RLock()
	keys := make([]*trustedKey, 0, len(o.keys))
	for _, k := range o.keys {
		keys = append(keys, k)
	}
	revoked := make([]string, 0, len(o.revoked))
	for kid := range o.revoked {
		revoked = append(revoked, kid)
	}
	o.mu.RUnlock()
	for _, kid := range revoked {
		t.Revoke([]byte(kid))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if t.revoked[string(k.kid)] {
			continue
		}
		if old, ok := t.keys[string(k.kid)]; ok {
			if old.region == k.region && bytes.Equal(old.spki, k.spki) {
				continue
			}
			return healthcode.Errorfd(healthcode.ECONFLICT, "qr.kid_conflict", "key id %s is already trusted for region %s",
				base64.StdEncoding.EncodeToString(k.kid), old.region)
		}
		t.keys[string(k.kid)] = k
	}
	return nil
}

// own returns a copy of the trust list (the service's own keys).
func (t *Trust) own() *Trust {
	c := NewTrust()
	t.mu.RLock()
	defer t.mu.RUnlock()
	for kid, k := range t.keys {
		c.keys[kid] = k
	}
	for kid := range t.revoked {
		c.revoked[kid] = true
	}
	return c
}

// Regions returns the regions the trust list holds keys for, sorted.
func (t *Trust) Regions() []string {
	t.mu.RLock()
	seen := map[string]bool{}
	for _, k := range t.keys {
		seen[k.region] = true
	}
	t.mu.RUnlock()
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// isRevoked reports whether the key id was revoked.
func (t *Trust) isRevoked(kid []byte) bool {
	if t == nil {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.revoked[string(kid)]
}

// lookup returns the key with the id, or nil.
func (t *Trust) lookup(kid []byte) *trustedKey {
	if t == nil {
		return nil
	}
	t.mu.RLock()
	k := t.keys[string(kid)]
	t.mu.RUnlock()
	return k
}
