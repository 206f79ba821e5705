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
// the key. A Trust is safe for concurrent use.
type Trust struct {
	mu   sync.RWMutex
	keys map[string]*trustedKey // by kid
}

type trustedKey struct {
	kid      []byte
	region   string
	alg      string
	spki     []byte
	verifier cose.Verifier
}

type trustFile struct {
	Keys []trustEntry `json:"keys"`
}

type trustEntry struct {
	KID       string `json:"kid"`
	Region    string `json:"region"`
	Alg       string `json:"alg"`
	PublicKey string `json:"public_key"`
}

// NewTrust returns an empty trust list.
func NewTrust() *Trust { return &Trust{keys: make(map[string]*trustedKey)} }

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
	return t, nil
}

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
	return k, nil
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
	k, err := newTrustedKey(region, pub)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[string]*trustedKey)
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
		f.Keys = append(f.Keys, trustEntry{
			KID:       base64.StdEncoding.EncodeToString(k.kid),
			Region:    k.region,
			Alg:       k.alg,
			PublicKey: base64.StdEncoding.EncodeToString(k.spki),
		})
	}
	t.mu.RUnlock()
	slices.SortFunc(f.Keys, func(a, b trustEntry) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.KID, b.KID))
	})
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("qr.Trust.Marshal: %w", err)
	}
	return append(b, '\n'), nil
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
