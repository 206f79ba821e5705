// Package federation binds regions' nodes into one country without a
// central database of everyone (invariant 8): a trust list signed by a
// national key names each region's QR-signing keys (with validity, key
// revocation and per-code revocation), its log key, witnesses, node key and
// endpoint; nodes and offline verifiers fetch and cache it; and a status
// exchange lets a node ask the issuing region for a traveller's colour with
// its reason and a log proof, over mutually authenticated TLS whose keys
// come from the trust list.
//
// The package must never let a region's colour travel without its reason
// and proof, never answer about anyone without the traveller's own code,
// never push anything to a peer unasked, and never accept a trust list, a
// key or an answer it cannot verify: every failure is an error, and no
// colour changes on one.
package federation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/qr"
	"healthcode/tlog"
)

// TrustListFormat is the first field of every trust list.
const TrustListFormat = "healthcode trust list v1"

// MaxTrustListSize bounds a trust list read from anywhere: 200 regions with
// a few keys and their revoked codes each fit many times over.
const MaxTrustListSize = 4 << 20

// Error details of trust lists (code EINVALID).
const (
	ReasonTrustMalformed   = "federation.trust_malformed"   // not a trust list: JSON, fields, keys
	ReasonTrustSignature   = "federation.trust_signature"   // not signed by the national key, or the signature fails
	ReasonTrustExpired     = "federation.trust_expired"     // past its expiry: fetch a newer one
	ReasonTrustRollback    = "federation.trust_rollback"    // an older serial than the one held
	ReasonTrustEquivocated = "federation.trust_equivocated" // another list of the serial already held
	ReasonUnknownRegion    = "federation.unknown_region"    // a region the trust list does not hold
)

// TrustList is the national list of regions and their keys. Its file is a
// C2SP signed note whose text is the JSON of this type, signed by the
// national key (and possibly cosigned by witnesses):
//
//	{"format": "healthcode trust list v1", "serial": 7,
//	 "issued": "2026-11-27T08:00:00Z", "expires": "2026-12-04T08:00:00Z",
//	 "regions": [{"code": "410100", "name": "郑州市",
//	   "endpoint": "https://hc.zhengzhou.example:8443",
//	   "node_key": "<base64 DER SubjectPublicKeyInfo, Ed25519>",
//	   "log_origin": "zhengzhou.healthcode.example/log",
//	   "log_key": "<note verifier key>", "witnesses": ["<note verifier key>"],
//	   "keys": [{"kid": "<base64>", "alg": "Ed25519", "public_key": "<base64 SPKI>",
//	     "not_before": "…", "not_after": "…",
//	     "revoked": "…", "revoked_codes": ["<base64 16 bytes>"]}]}]}
//
// Serials only grow: a cache refuses an older list (a rollback that would
// undo a revocation) and a different list of the same serial (a national
// key showing two views). A key with "revoked" set verifies nothing from
// the moment a node or verifier holds the list: the kill switch. A key's
// revoked codes are CodeHash values of single codes (qr.CodeHash),
// partitioned by key id as in the EU DCC revocation lists.
type TrustList struct {
	Format  string    `json:"format"`
	Serial  int64     `json:"serial"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Regions []Region  `json:"regions"`

	note   []byte // the signed note it was opened from, if any
	trust  *qr.Trust
	byCode map[string]*Region
}

// Region is one region's entry in the trust list.
type Region struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Endpoint  string   `json:"endpoint"`
	NodeKey   string   `json:"node_key"`
	LogOrigin string   `json:"log_origin"`
	LogKey    string   `json:"log_key"`
	Witnesses []string `json:"witnesses,omitempty"`
	Keys      []Key    `json:"keys"`

	nodeKey     ed25519.PublicKey
	logVerifier note.Verifier
}

// Key is one QR-signing key of a region.
type Key struct {
	KID          string     `json:"kid"`
	Alg          string     `json:"alg"`
	PublicKey    string     `json:"public_key"`
	NotBefore    time.Time  `json:"not_before"`
	NotAfter     time.Time  `json:"not_after"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	RevokedCodes []string   `json:"revoked_codes,omitempty"`
}

func malformedList(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, ReasonTrustMalformed, "trust list: "+format, args...)
}

// ParseTrustList parses and checks the JSON text of a trust list (no
// signature: see OpenTrustList). Returns EINVALID (detail
// ReasonTrustMalformed) for unknown fields, a wrong format, a bad or
// repeated region, endpoint or key, a key id that is not its key's, or a
// key id listed twice anywhere in the list.
func ParseTrustList(text []byte) (*TrustList, error) {
	if len(text) > MaxTrustListSize {
		return nil, malformedList("%d bytes, more than %d", len(text), MaxTrustListSize)
	}
	var l TrustList
	d := json.NewDecoder(bytes.NewReader(text))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return nil, malformedList("%v", err)
	}
	if _, err := d.Token(); err == nil {
		return nil, malformedList("data after the JSON object")
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return &l, nil
}

// check validates l and builds its indexes.
func (l *TrustList) check() error {
	if l.Format != TrustListFormat {
		return malformedList("format is %q, not %q", l.Format, TrustListFormat)
	}
	if l.Serial <= 0 {
		return malformedList("serial %d is not positive", l.Serial)
	}
	if l.Issued.IsZero() || !l.Expires.After(l.Issued) {
		return malformedList("expires (%s) is not after issued (%s)", l.Expires.Format(time.RFC3339), l.Issued.Format(time.RFC3339))
	}
	qf := qrTrustFile{Keys: []qrTrustEntry{}}
	l.byCode = make(map[string]*Region, len(l.Regions))
	kids := map[string]bool{}
	nodeKeys := map[string]bool{}
	for i := range l.Regions {
		r := &l.Regions[i]
		if err := healthcode.ValidateRegion(r.Code); err != nil {
			return malformedList("region %d: %s", i, healthcode.ErrorMessage(err))
		}
		if l.byCode[r.Code] != nil {
			return malformedList("region %s listed twice", r.Code)
		}
		l.byCode[r.Code] = r
		if !printable(r.Name, 200) {
			return malformedList("region %s: name is not short printable text", r.Code)
		}
		if err := checkEndpoint(r.Endpoint); err != nil {
			return malformedList("region %s: %v", r.Code, err)
		}
		pub, err := parseNodeKey(r.NodeKey)
		if err != nil {
			return malformedList("region %s: node_key: %v", r.Code, err)
		}
		if nodeKeys[string(pub)] {
			return malformedList("region %s: node_key is another region's", r.Code)
		}
		nodeKeys[string(pub)] = true
		r.nodeKey = pub
		if !printable(r.LogOrigin, 200) || r.LogOrigin == "" {
			return malformedList("region %s: log_origin is not short printable text", r.Code)
		}
		if r.logVerifier, err = note.NewVerifier(r.LogKey); err != nil {
			return malformedList("region %s: log_key: %v", r.Code, err)
		}
		if r.logVerifier.Name() != r.LogOrigin {
			return malformedList("region %s: log_key is named %q, not the log's origin %q", r.Code, r.logVerifier.Name(), r.LogOrigin)
		}
		for j, w := range r.Witnesses {
			if _, err := tlog.ParseWitnessVerifier(w); err != nil {
				return malformedList("region %s: witness %d: %v", r.Code, j, err)
			}
		}
		if len(r.Keys) == 0 {
			return malformedList("region %s has no QR-signing key", r.Code)
		}
		for j, k := range r.Keys {
			if kids[k.KID] {
				return malformedList("region %s: key %d: kid %s listed twice", r.Code, j, k.KID)
			}
			kids[k.KID] = true
			if k.NotBefore.IsZero() || !k.NotAfter.After(k.NotBefore) {
				return malformedList("region %s: key %s: not_after is not after not_before", r.Code, k.KID)
			}
			if k.Revoked != nil {
				qf.RevokedKeys = append(qf.RevokedKeys, k.KID)
			}
			nb, na := k.NotBefore.UTC(), k.NotAfter.UTC()
			qf.Keys = append(qf.Keys, qrTrustEntry{KID: k.KID, Region: r.Code, Alg: k.Alg, PublicKey: k.PublicKey,
				NotBefore: &nb, NotAfter: &na, RevokedCodes: k.RevokedCodes})
		}
	}
	// The keys themselves are checked by qr, which verifies with them: one
	// parser of keys, kids and code hashes.
	b, err := json.Marshal(qf)
	if err != nil {
		return malformedList("%v", err)
	}
	if l.trust, err = qr.ParseTrust(b); err != nil {
		return malformedList("%s", healthcode.ErrorMessage(err))
	}
	return nil
}

// qrTrustFile is the file qr.ParseTrust reads (see qr.Trust).
type qrTrustFile struct {
	Keys        []qrTrustEntry `json:"keys"`
	RevokedKeys []string       `json:"revoked_keys,omitempty"`
}

type qrTrustEntry struct {
	KID          string     `json:"kid"`
	Region       string     `json:"region"`
	Alg          string     `json:"alg"`
	PublicKey    string     `json:"public_key"`
	NotBefore    *time.Time `json:"not_before,omitempty"`
	NotAfter     *time.Time `json:"not_after,omitempty"`
	RevokedCodes []string   `json:"revoked_codes,omitempty"`
}

func printable(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(s) > 300 {
		return fmt.Errorf("endpoint %q is not an https URL", s)
	}
	return nil
}

func parseNodeKey(s string) (ed25519.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	k, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", pub)
	}
	if again, _ := x509.MarshalPKIXPublicKey(k); !bytes.Equal(again, der) {
		return nil, errors.New("not in canonical DER")
	}
	return k, nil
}

// NodeKeyString encodes a node's public key as a trust list holds it.
func NodeKeyString(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// OpenTrustList verifies a signed trust list (a note signed by one of the
// national keys) and parses it. It returns EINVALID with detail
// ReasonTrustSignature if no national key signed it or a signature fails,
// ReasonTrustExpired if now is past its expiry, and ParseTrustList's
// errors. Signatures by other keys (witnesses) are ignored here.
func OpenTrustList(msg []byte, national note.Verifiers, now time.Time) (*TrustList, error) {
	if len(msg) > MaxTrustListSize {
		return nil, malformedList("%d bytes, more than %d", len(msg), MaxTrustListSize)
	}
	n, err := note.Open(msg, national)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonTrustSignature, "trust list is not signed by the national key: %v", err)
		}
		return nil, malformedList("not a signed note: %v", err)
	}
	l, err := ParseTrustList([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if now.After(l.Expires) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonTrustExpired,
			"trust list %d expired at %s: fetch a newer one", l.Serial, l.Expires.Format(time.RFC3339))
	}
	l.note = msg
	return l, nil
}

// SignTrustList checks l and returns it as a note signed by signer (the
// national key).
func SignTrustList(l *TrustList, signer note.Signer) ([]byte, error) {
	l.Format = TrustListFormat
	slices.SortFunc(l.Regions, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	text, err := json.MarshalIndent(l, "", " ")
	if err != nil {
		return nil, fmt.Errorf("federation.SignTrustList: %w", err)
	}
	text = append(text, '\n')
	if _, err := ParseTrustList(text); err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, fmt.Errorf("federation.SignTrustList: %w", err)
	}
	return msg, nil
}

// Note returns the signed note the list was opened from (nil if it was
// only parsed).
func (l *TrustList) Note() []byte { return l.note }

// QRTrust returns the QR keys of every region, with their validity, key
// revocations and revoked codes, as qr.Verify takes them.
func (l *TrustList) QRTrust() *qr.Trust { return l.trust }

// Region returns the entry of a region. Returns EINVALID (detail
// ReasonUnknownRegion) for a region the list does not hold.
func (l *TrustList) Region(code string) (*Region, error) {
	if r := l.byCode[code]; r != nil {
		return r, nil
	}
	return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonUnknownRegion, "region %q is not in trust list %d", code, l.Serial)
}

// RegionOfNodeKey returns the region whose node key pub is, or nil.
func (l *TrustList) RegionOfNodeKey(pub ed25519.PublicKey) *Region {
	for i := range l.Regions {
		if l.Regions[i].nodeKey.Equal(pub) {
			return &l.Regions[i]
		}
	}
	return nil
}

// NodePublicKey returns the region's node key (TLS and status answers).
func (r *Region) NodePublicKey() ed25519.PublicKey { return r.nodeKey }

// LogVerifier returns the verifier of the region's log checkpoints.
func (r *Region) LogVerifier() note.Verifier { return r.logVerifier }

// VerifyCode verifies a health QR of any region in the list at now and
// names the region that issued it. Returns qr.Verify's errors (a revoked
// key: qr.key_revoked; a revoked code: qr.code_revoked) and, for a code of
// a region the list does not hold, EINVALID with ReasonUnknownRegion.
func (l *TrustList) VerifyCode(text string, now time.Time) (*qr.Claims, *Region, error) {
	c, err := qr.Verify(text, l.trust, now)
	if err != nil {
		return c, nil, err
	}
	r, err := l.Region(c.Region)
	if err != nil {
		return nil, nil, err
	}
	return c, r, nil
}
