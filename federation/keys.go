package federation

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
)

// A node key is a region node's Ed25519 key: the trust list names its
// public half (node_key); the node presents it in mutually authenticated
// TLS to its peers and signs its status answers with it. Peers pin the key
// itself, as the trust list gives it: the X.509 certificate around it is
// self-signed and only carries it into TLS.

// GenerateNodeKey returns a new node key.
func GenerateNodeKey() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("federation.GenerateNodeKey: %w", err)
	}
	return k, nil
}

// MarshalNodeKey encodes a node key as a PKCS#8 PEM block.
func MarshalNodeKey(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("federation.MarshalNodeKey: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseNodeKey decodes what MarshalNodeKey produced. Returns EINVALID
// (detail "federation.node_key") for anything else.
func ParseNodeKey(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "federation.node_key", "no PKCS#8 PRIVATE KEY PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "federation.node_key", "parsing the node key: %v", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "federation.node_key", "the node key is a %T, not Ed25519", k)
	}
	return ek, nil
}

// nodeCertificate wraps the node key in a self-signed certificate for TLS.
func nodeCertificate(region string, k ed25519.PrivateKey, now time.Time) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "healthcode node " + region},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("federation: node certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}

// peerKey returns the Ed25519 key of the leaf certificate a peer presented.
func peerKey(rawCerts [][]byte) (ed25519.PublicKey, error) {
	if len(rawCerts) == 0 {
		return nil, errors.New("the peer presented no certificate")
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return nil, fmt.Errorf("the peer's certificate: %v", err)
	}
	k, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the peer's key is a %T, not an Ed25519 node key", cert.PublicKey)
	}
	// The handshake proved the peer holds the key (TLS 1.3
	// CertificateVerify); the certificate around it vouches for nothing.
	return k, nil
}

// NodeNoteName is the name of a region's node key in the notes it signs.
func NodeNoteName(region string) string { return "node.region" + region + ".healthcode" }

// NodeNoteSigner returns a note signer named name for an Ed25519 key (the
// node key, or any key held as an ed25519.PrivateKey).
func NodeNoteSigner(name string, k ed25519.PrivateKey) (note.Signer, error) {
	vkey, err := note.NewEd25519VerifierKey(name, k.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	// vkey is name+hash+base64(alg||pub): the signer's key is the same
	// with the seed in place of the public key.
	rest, ok := strings.CutPrefix(vkey, name+"+")
	hash, _, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 {
		return nil, fmt.Errorf("federation: unexpected verifier key %q", vkey)
	}
	skey := "PRIVATE+KEY+" + name + "+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, k.Seed()...))
	return note.NewSigner(skey)
}

// nodeNoteVerifier returns the verifier of a region's node key.
func nodeNoteVerifier(region string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(NodeNoteName(region), pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}
