package healthcode

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Person is someone who holds a health code. The store never sees Name,
// IDNumber or Phone in clear: they travel sealed with the person's own data
// key (Sealed), which is itself kept wrapped so that deleting it shreds every
// copy of the personal fields, backups included.
type Person struct {
	// Pseudonym is a keyed hash of the ID number: stable, not reversible
	// without the region's key, and the only handle the public log ever holds.
	Pseudonym string
	// Region is the GB/T 2260 division code of the issuing region.
	Region string
	// MaskedName is what a checkpoint sees, e.g. "张*明".
	MaskedName string
	// IDHash is the keyed hash used to find a person by ID number.
	IDHash []byte
	// DataKey is the per-person AES-256 key (clear only in memory).
	DataKey []byte
	// WrappedKey is DataKey sealed with the region's wrapping key: what the
	// store keeps, apart from the person, so that deleting it shreds the data.
	WrappedKey []byte
	// Sealed is Personal sealed with DataKey.
	Sealed    []byte
	CreatedAt time.Time

	// Personal is filled in when the person is created or unsealed.
	Personal *PersonalData
}

// PersonalData is the identifying part of a person, kept only sealed at rest.
type PersonalData struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone,omitempty"`
}

// Validate checks the fields the store relies on.
func (p *Person) Validate() error {
	if p.Pseudonym == "" {
		return Errorfd(EINVALID, "person.pseudonym", "person has no pseudonym")
	}
	if err := ValidateRegion(p.Region); err != nil {
		return err
	}
	if len(p.DataKey) != 32 {
		return Errorfd(EINVALID, "person.key", "person data key must be 32 bytes")
	}
	return nil
}

// ValidateRegion checks a GB/T 2260 administrative division code: six digits,
// a province part between 11 and 82.
func ValidateRegion(code string) error {
	if len(code) != 6 {
		return Errorfd(EINVALID, "region.format", "region %q is not a six-digit GB/T 2260 code", code)
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return Errorfd(EINVALID, "region.format", "region %q is not a six-digit GB/T 2260 code", code)
		}
	}
	if code[:2] < "11" || code[:2] > "82" {
		return Errorfd(EINVALID, "region.province", "region %q has no valid province part", code)
	}
	return nil
}

// MaskName keeps the first and last character of a name and masks the rest,
// as checkpoints showed it: "张三" → "张*", "张小明" → "张*明".
func MaskName(name string) string {
	rs := []rune(strings.TrimSpace(name))
	switch len(rs) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(rs[0]) + "*"
	}
	return string(rs[0]) + strings.Repeat("*", len(rs)-2) + string(rs[len(rs)-1])
}

// Keys are a region's secrets for pseudonyms and ID lookups. They never leave
// the node; losing them makes pseudonyms unlinkable to people, which sunset
// relies on.
type Keys struct {
	Pseudonym []byte // HMAC key for pseudonyms
	IDLookup  []byte // HMAC key for ID-number lookups
	Wrap      []byte // AES-256 key that wraps per-person data keys
}

// Pseudonymize returns the keyed pseudonym of an ID number within a region.
func (k *Keys) Pseudonymize(region, idNumber string) string {
	m := hmac.New(sha256.New, k.Pseudonym)
	m.Write([]byte(region))
	m.Write([]byte{0})
	m.Write([]byte(normalizeID(idNumber)))
	sum := m.Sum(nil)
	return "p" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// IDHash returns the keyed lookup hash of an ID number.
func (k *Keys) IDHash(idNumber string) []byte {
	m := hmac.New(sha256.New, k.IDLookup)
	m.Write([]byte(normalizeID(idNumber)))
	return m.Sum(nil)
}

func normalizeID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// NewPerson builds a person with a fresh data key and sealed personal data.
func (k *Keys) NewPerson(region string, pd PersonalData, now time.Time) (*Person, error) {
	if strings.TrimSpace(pd.Name) == "" || !utf8.ValidString(pd.Name) {
		return nil, Errorfd(EINVALID, "person.name", "person needs a name")
	}
	if strings.TrimSpace(pd.IDNumber) == "" {
		return nil, Errorfd(EINVALID, "person.id_number", "person needs an ID number")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	p := &Person{
		Pseudonym:  k.Pseudonymize(region, pd.IDNumber),
		Region:     region,
		MaskedName: MaskName(pd.Name),
		IDHash:     k.IDHash(pd.IDNumber),
		DataKey:    key,
		CreatedAt:  now.UTC(),
		Personal:   &pd,
	}
	sealed, err := Seal(key, mustJSON(pd), []byte(p.Pseudonym))
	if err != nil {
		return nil, err
	}
	p.Sealed = sealed
	if p.WrappedKey, err = k.WrapKey(key, p.Pseudonym); err != nil {
		return nil, err
	}
	return p, p.Validate()
}

// WrapKey seals a per-person data key with the region's wrapping key.
func (k *Keys) WrapKey(dataKey []byte, pseudonym string) ([]byte, error) {
	return Seal(k.Wrap, dataKey, []byte("datakey:"+pseudonym))
}

// UnwrapKey opens a data key wrapped by WrapKey.
func (k *Keys) UnwrapKey(wrapped []byte, pseudonym string) ([]byte, error) {
	return Open(k.Wrap, wrapped, []byte("datakey:"+pseudonym))
}

// Unseal decrypts p.Sealed with p.DataKey into p.Personal.
func (p *Person) Unseal() error {
	b, err := Open(p.DataKey, p.Sealed, []byte(p.Pseudonym))
	if err != nil {
		return err
	}
	var pd PersonalData
	if err := json.Unmarshal(b, &pd); err != nil {
		return err
	}
	p.Personal = &pd
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext with AES-256-GCM under key, binding ad.
func Seal(key, plaintext, ad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plaintext)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plaintext, ad), nil
}

// Open decrypts what Seal produced.
func Open(key, sealed, ad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, Errorf(EINVALID, "sealed data too short")
	}
	return g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], ad)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are passed
	}
	return b
}
