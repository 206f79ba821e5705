package qr

import (
	"crypto"
	"crypto/rand"
	"fmt"

	"github.com/veraison/go-cose"

	"healthcode"
)

// Signer issues tokens with one key. It is safe for concurrent use.
type Signer struct {
	key  crypto.Signer
	alg  string
	kid  []byte
	cose cose.Signer
	// The protected header {1: alg, 4: kid} is the same for every token:
	// encoded once here, it costs nothing per token.
	protected    cose.ProtectedHeader
	rawProtected []byte
}

// emptyMap is the unprotected header of every token: nothing.
var emptyMap = []byte{0xa0}

// NewSigner returns a signer for an ed25519.PrivateKey or an
// *ecdsa.PrivateKey on P-256.
func NewSigner(key crypto.Signer) (*Signer, error) {
	if key == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.key", "no signing key")
	}
	alg, err := keyAlg(key.Public())
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	cs, err := cose.NewSigner(coseAlg(alg), key)
	if err != nil {
		return nil, fmt.Errorf("qr.NewSigner: %w", err)
	}
	s := &Signer{
		key:       key,
		alg:       alg,
		kid:       kid,
		cose:      cs,
		protected: cose.ProtectedHeader{cose.HeaderLabelAlgorithm: coseAlg(alg), cose.HeaderLabelKeyID: kid},
	}
	h := cose.Headers{Protected: s.protected}
	if s.rawProtected, err = h.MarshalProtected(); err != nil {
		return nil, fmt.Errorf("qr.NewSigner: %w", err)
	}
	return s, nil
}

// KeyID returns the key identifier carried in every token the signer issues.
func (s *Signer) KeyID() []byte { return append([]byte(nil), s.kid...) }

// Public returns the public key, for the trust list.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Alg returns the algorithm name, "Ed25519" or "ES256".
func (s *Signer) Alg() string { return s.alg }

// Issue signs c and returns the token text. Times are truncated to whole
// seconds. It returns EINVALID (detail "qr.claims") if a claim is missing or
// out of range, so that it never issues a token that Verify would refuse as
// malformed.
func (s *Signer) Issue(c *Claims) (string, error) {
	if err := c.validate(); err != nil {
		return "", healthcode.Errorfd(healthcode.EINVALID, "qr.claims", "qr: %v", err)
	}
	payload, err := c.marshal()
	if err != nil {
		return "", fmt.Errorf("qr.Issue: claims: %w", err)
	}
	msg := cose.Sign1Message{
		Headers: cose.Headers{
			Protected:      s.protected,
			RawProtected:   s.rawProtected,
			RawUnprotected: emptyMap,
		},
		Payload: payload,
	}
	if err := msg.Sign(rand.Reader, nil, s.cose); err != nil {
		return "", fmt.Errorf("qr.Issue: sign: %w", err)
	}
	signed, err := msg.MarshalCBOR()
	if err != nil {
		return "", fmt.Errorf("qr.Issue: COSE: %w", err)
	}
	if len(signed) > maxDecompressed {
		return "", healthcode.Errorfd(healthcode.EINVALID, "qr.claims", "qr: token of %d bytes is too large", len(signed))
	}
	z := zlibStored(make([]byte, 0, len(signed)+11), signed)
	out := make([]byte, 0, len(Prefix)+base45EncodedLen(len(z)))
	out = append(out, Prefix...)
	return string(base45Append(out, z)), nil
}
