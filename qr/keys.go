package qr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/veraison/go-cose"

	"healthcode"
)

// Algorithm names, as written in trust lists and accepted by GenerateKey.
const (
	AlgEd25519 = "Ed25519"
	AlgES256   = "ES256"
)

// GenerateKey returns a new signing key: alg is "Ed25519" or "ES256"
// (ECDSA on P-256).
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("qr.GenerateKey: %w", err)
		}
		return k, nil
	case AlgES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("qr.GenerateKey: %w", err)
		}
		return k, nil
	}
	return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.alg", "unknown key algorithm %q (want Ed25519 or ES256)", alg)
}

// MarshalPrivateKey encodes a signing key as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	if _, err := keyAlg(key.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("qr.MarshalPrivateKey: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey decodes what MarshalPrivateKey produced. It returns
// EINVALID (detail "qr.key") for anything but an Ed25519 or P-256 key.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.key", "no PKCS#8 PRIVATE KEY PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.key", "parsing private key: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.key", "unsupported private key %T", k)
	}
	if _, err := keyAlg(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// KeyID returns the key identifier of a public key: the first 8 bytes of the
// SHA-256 of its DER SubjectPublicKeyInfo. The length is the EU DCC's; what
// is hashed is not (the DCC hashes the signer's X.509 certificate): the key
// itself, so that a key keeps its id for as long as it lives.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.key", "encoding public key: %v", err)
	}
	return kidOf(der), nil
}

func kidOf(spki []byte) []byte {
	sum := sha256.Sum256(spki)
	return sum[:8]
}

// keyAlg returns the algorithm name of a supported public key.
func keyAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return AlgEd25519, nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return AlgES256, nil
		}
		return "", healthcode.Errorfd(healthcode.EINVALID, "qr.key", "ECDSA key on %s: only P-256 is supported", k.Curve.Params().Name)
	}
	return "", healthcode.Errorfd(healthcode.EINVALID, "qr.key", "unsupported key type %T (want Ed25519 or ECDSA P-256)", pub)
}

// coseAlg maps our algorithm names to COSE's.
func coseAlg(alg string) cose.Algorithm {
	if alg == AlgES256 {
		return cose.AlgorithmES256
	}
	return cose.AlgorithmEdDSA
}
