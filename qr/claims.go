package qr

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"healthcode"
)

// Claims is what a health QR states about its holder: no more than a
// checkpoint needs (invariant 6: colour, masked name, validity), and nothing
// medical.
type Claims struct {
	Region         string // GB/T 2260 code of the issuing region
	Subject        string // keyed pseudonym of the holder
	MaskedName     string // e.g. "张*明"
	Colour         healthcode.Colour
	IssuedAt       time.Time // whole seconds in the token
	Expires        time.Time // whole seconds in the token
	RuleSetVersion string    // the rule set that produced the colour
	// No log index nor anything else that leads into the log: a checkpoint
	// that scans a code must not be able to look up why it has its colour.
}

// wireClaims is the CBOR payload: a map with small integer keys. Keys 1, 2,
// 4 and 6 mean what they mean in a CWT (RFC 8392: iss, sub, exp, iat, times
// in whole seconds since the epoch) so generic COSE tools show them; the
// negative keys are ours. The deterministic (core) encoding sorts them as
// 1, 2, 4, 6, -1, -2, -3. Key -4 (a log index) was dropped: a token that
// carries it is refused as an unknown field.
type wireClaims struct {
	Region         string `cbor:"1,keyasint"`
	Subject        string `cbor:"2,keyasint"`
	Expires        int64  `cbor:"4,keyasint"`
	IssuedAt       int64  `cbor:"6,keyasint"`
	Colour         uint8  `cbor:"-1,keyasint"`
	MaskedName     string `cbor:"-2,keyasint"`
	RuleSetVersion string `cbor:"-3,keyasint"`
}

var (
	claimsEnc cbor.EncMode
	claimsDec cbor.DecMode
)

func init() {
	var err error
	if claimsEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err) // static options
	}
	claimsDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxMapPairs:       16,
		MaxArrayElements:  16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
}

// validate reports the first claim that is missing or out of range.
func (c *Claims) validate() error {
	switch {
	case c == nil:
		return errors.New("no claims")
	case healthcode.ValidateRegion(c.Region) != nil:
		return fmt.Errorf("region %q is not a GB/T 2260 code", c.Region)
	case c.Subject == "" || !utf8.ValidString(c.Subject):
		return errors.New("no subject")
	case c.MaskedName == "" || !utf8.ValidString(c.MaskedName):
		return errors.New("no masked name")
	case !c.Colour.Valid():
		return fmt.Errorf("invalid colour %d", c.Colour)
	case c.IssuedAt.Unix() <= 0:
		return errors.New("no issue time")
	case c.Expires.Unix() <= c.IssuedAt.Unix():
		return errors.New("expiry is not after issue time")
	case c.RuleSetVersion == "" || !utf8.ValidString(c.RuleSetVersion):
		return errors.New("no rule-set version")
	}
	return nil
}

func (c *Claims) marshal() ([]byte, error) {
	return claimsEnc.Marshal(&wireClaims{
		Region:         c.Region,
		Subject:        c.Subject,
		Expires:        c.Expires.Unix(),
		IssuedAt:       c.IssuedAt.Unix(),
		Colour:         uint8(c.Colour),
		MaskedName:     c.MaskedName,
		RuleSetVersion: c.RuleSetVersion,
	})
}

func unmarshalClaims(b []byte) (*Claims, error) {
	var w wireClaims
	if err := claimsDec.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	c := &Claims{
		Region:         w.Region,
		Subject:        w.Subject,
		MaskedName:     w.MaskedName,
		Colour:         healthcode.Colour(w.Colour),
		IssuedAt:       time.Unix(w.IssuedAt, 0).UTC(),
		Expires:        time.Unix(w.Expires, 0).UTC(),
		RuleSetVersion: w.RuleSetVersion,
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}
