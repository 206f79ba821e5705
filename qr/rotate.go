package qr

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"healthcode"
)

// RetiredKey is a signing key a rotation replaced: its public half stays in
// the trust list until Until, when the last code it signed has expired. Its
// private half is gone.
type RetiredKey struct {
	KID       string    `json:"kid"`
	PublicKey string    `json:"public_key"` // base64 DER SubjectPublicKeyInfo
	Until     time.Time `json:"until"`
}

// Retire returns the retired form of the signer's key, trusted until until.
func Retire(s *Signer, until time.Time) (RetiredKey, error) {
	spki, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return RetiredKey{}, fmt.Errorf("qr.Retire: %w", err)
	}
	return RetiredKey{KID: base64.StdEncoding.EncodeToString(s.KeyID()), PublicKey: base64.StdEncoding.EncodeToString(spki), Until: until.UTC()}, nil
}

// ParseRetired parses a file of retired keys (a JSON array of RetiredKey).
// Returns EINVALID (detail "qr.retired") if a key does not parse or does
// not match its kid.
func ParseRetired(b []byte) ([]RetiredKey, error) {
	var rs []RetiredKey
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&rs); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired keys: %v", err)
	}
	for i, r := range rs {
		spki, err := base64.StdEncoding.DecodeString(r.PublicKey)
		if err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired key %d: public_key: %v", i, err)
		}
		if kid := base64.StdEncoding.EncodeToString(kidOf(spki)); kid != r.KID {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired key %d: kid %q is not the key's id %s", i, r.KID, kid)
		}
		if _, err := x509.ParsePKIXPublicKey(spki); err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired key %d: %v", i, err)
		}
	}
	return rs, nil
}

// NewServiceWithRetired returns NewService(key, region) whose trust list
// also holds the retired keys still trusted at now (Until after now): codes
// they signed before a rotation verify until they expire, and the trust
// file lists old and new keys meanwhile.
func NewServiceWithRetired(key *Signer, region string, retired []RetiredKey, now time.Time) (*Service, error) {
	t := NewTrust()
	if err := t.Add(region, key.Public()); err != nil {
		return nil, err
	}
	var kept []RetiredKey
	for i, r := range retired {
		if !r.Until.After(now) {
			continue
		}
		spki, err := base64.StdEncoding.DecodeString(r.PublicKey)
		if err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired key %d: %v", i, err)
		}
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.retired", "retired key %d: %v", i, err)
		}
		if err := t.Add(region, pub); err != nil {
			return nil, err
		}
		kept = append(kept, r)
	}
	b, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	return &Service{signer: key, region: region, trust: t, trustJSON: b, retired: kept}, nil
}
