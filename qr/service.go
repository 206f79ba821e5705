package qr

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"healthcode"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// Service signs the health codes of one region and verifies codes against
// its trust list: what the HTTP server needs of this package.
type Service struct {
	signer    *Signer
	region    string
	trust     *Trust
	mu        sync.RWMutex
	trustJSON []byte
	retired   []RetiredKey // still trusted, until each one's Until
	// peers is the other regions' trust list (SetPeers); verify is trust
	// merged with it, nil while there are no peers.
	peers  *Trust
	verify *Trust
}

// NewService returns a service signing with key for region; its trust list
// holds the key's public half.
func NewService(key crypto.Signer, region string) (*Service, error) {
	s, err := NewSigner(key)
	if err != nil {
		return nil, err
	}
	t := NewTrust()
	if err := t.Add(region, s.Public()); err != nil {
		return nil, err
	}
	b, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	return &Service{signer: s, region: region, trust: t, trustJSON: b}, nil
}

// SignCode issues the QR text of c.
func (s *Service) SignCode(c *healthcode.HealthCode) (string, error) {
	return s.signer.Issue(&Claims{Region: c.Region, Subject: c.Subject, MaskedName: c.MaskedName, Colour: c.Colour,
		IssuedAt: c.IssuedAt, Expires: c.Expires, RuleSetVersion: c.RuleSetVersion})
}

// VerifyCode verifies text against the service's trust list at now.
func (s *Service) VerifyCode(text string, now time.Time) (*healthcode.HealthCode, error) {
	c, err := Verify(text, s.Trust(), now)
	if err != nil {
		return nil, err
	}
	return &healthcode.HealthCode{Region: c.Region, Subject: c.Subject, MaskedName: c.MaskedName, Colour: c.Colour,
		IssuedAt: c.IssuedAt, Expires: c.Expires, RuleSetVersion: c.RuleSetVersion}, nil
}

// TrustList returns the trust file (JSON) a checkpoint needs offline.
func (s *Service) TrustList() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.trustJSON
}

// Expire stops trusting the retired keys whose Until is not after now (the
// codes they signed have all expired) and reports whether the trust list
// changed.
func (s *Service) Expire(now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.retired[:0]
	changed := false
	for _, r := range s.retired {
		if r.Until.After(now) {
			kept = append(kept, r)
			continue
		}
		kid, err := base64.StdEncoding.DecodeString(r.KID)
		if err != nil {
			return false, err
		}
		s.trust.remove(kid)
		changed = true
	}
	s.retired = kept
	if !changed {
		return false, nil
	}
	return true, s.rebuildLocked()
}

// SetPeers makes the service also trust the keys and revocations of peer,
// a trust list of other regions (a federation trust list turned into a
// Trust): codes of other regions then verify, and TrustList lists their
// keys for offline checkpoints. Each call replaces the previous peers. A
// revocation in peer also revokes the service's own key of that id (the
// national kill switch applies to the region itself). Returns ECONFLICT if
// a peer key id clashes with one of the service's own keys.
func (s *Service) SetPeers(peer *Trust) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.peers
	s.peers = peer
	if err := s.rebuildLocked(); err != nil {
		s.peers = old
		return err
	}
	return nil
}

// rebuildLocked recomputes the merged trust list and its file; on an error
// nothing changes.
func (s *Service) rebuildLocked() error {
	t := s.trust
	var verify *Trust
	if s.peers != nil {
		verify = NewTrust()
		if err := verify.Merge(s.trust.own()); err != nil {
			return err
		}
		if err := verify.Merge(s.peers); err != nil {
			return err
		}
		t = verify
	}
	b, err := t.Marshal()
	if err != nil {
		return err
	}
	s.verify, s.trustJSON = verify, b
	return nil
}

// Trust returns the trust list the service verifies with: its own keys and
// its peers'.
func (s *Service) Trust() *Trust {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.verify != nil {
		return s.verify
	}
	return s.trust
}

// PNG renders text as a PNG image.
func (s *Service) PNG(text string, size int) ([]byte, error) { return PNG(text, size) }

// SVG renders text as an SVG image.
func (s *Service) SVG(text string) ([]byte, error) { return SVG(text) }

// SignedSize returns the size of the COSE Sig_structure that a token's
// signature covers: the message size that raw signing and verification are
// measured on when they serve as a benchmark's baseline.
func SignedSize(text string) (int, error) {
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return 0, malformed("token does not start with %q", Prefix)
	}
	z, err := base45Decode(body)
	if err != nil {
		return 0, malformed("%v", err)
	}
	signed, err := decompress(z)
	if err != nil {
		return 0, malformed("decompressing: %v", err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(signed); err != nil {
		return 0, malformed("COSE_Sign1: %v", err)
	}
	protected, err := msg.Headers.MarshalProtected()
	if err != nil {
		return 0, fmt.Errorf("qr.SignedSize: %w", err)
	}
	sig, err := cbor.Marshal([]any{"Signature1", cbor.RawMessage(protected), []byte{}, msg.Payload})
	if err != nil {
		return 0, fmt.Errorf("qr.SignedSize: %w", err)
	}
	return len(sig), nil
}
