// Package qr is the health QR: a compact token that a checkpoint verifies
// offline. Claims (region, pseudonym, masked name, colour, validity, rule-set
// version, log index) are CBOR in a COSE_Sign1 envelope signed with Ed25519
// or ECDSA P-256, in a zlib stream, base45-encoded behind the prefix "HCN1:",
// in the manner of the EU Digital COVID Certificate. The package also renders
// tokens as PNG and SVG QR codes and reads them back from images.
//
// The layers of a token, outermost first:
//
//	"HCN1:" base45(                  RFC 9285: the QR alphanumeric set
//	  zlib(                          RFC 1950: Issue writes one stored block
//	    COSE_Sign1_Tagged [          RFC 9052, CBOR tag 18
//	      protected {1: alg (-8 EdDSA | -7 ES256), 4: kid},
//	      unprotected {},            must be empty
//	      payload,                   the claims, below
//	      signature ]))
//
// The claims are a CBOR map in deterministic (core) encoding: 1 region,
// 2 subject, 4 expiry and 6 issue time (as in a CWT: text, text, whole
// seconds since 1970), then -1 colour (1 green, 2 yellow, 3 red), -2 masked
// name, -3 rule-set version, -4 log index (left out when 0). Verify refuses
// other keys.
//
// The kid is the first 8 bytes of the SHA-256 of the key's DER
// SubjectPublicKeyInfo. (The EU DCC hashes the signer's X.509 certificate
// instead; healthcode has no certificates: the signed trust list is what
// binds a key to its region and validity, see docs/federation.md.)
// Verifiers learn keys from a trust list (see Trust) that binds each key to
// one region.
//
// The package must never put anything medical, or anything beyond what a
// checkpoint needs to see, into a token; never accept a token whose key is
// not in the caller's trust list or whose region differs from its key's;
// never read the clock itself (Verify takes now); and never panic on any
// input.
package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/adler32"
	"io"
	"sync"
	"time"

	"healthcode"
)

// Prefix starts every token. The digit is the format version.
const Prefix = "HCN1:"

// Verification failure reasons: the Detail of the *healthcode.Error that
// Verify returns (code EINVALID). Reason extracts it from an error.
const (
	ReasonMalformed    = "qr.malformed"     // not a token: prefix, base45, zlib, CBOR, COSE, missing claims
	ReasonUnknownKey   = "qr.unknown_key"   // signed with a key not in the trust list
	ReasonBadSignature = "qr.bad_signature" // the signature does not verify
	ReasonWrongRegion  = "qr.wrong_region"  // claims a region other than its key's
	ReasonExpired      = "qr.expired"       // now is after Expires
	ReasonNotYetValid  = "qr.not_yet_valid" // IssuedAt is more than ClockSkew after now
	ReasonKeyRevoked   = "qr.key_revoked"   // signed with a key the trust list revokes
	ReasonKeyNotValid  = "qr.key_not_valid" // issued before its key's validity, or the key's validity is over
	ReasonCodeRevoked  = "qr.code_revoked"  // this one code is on its key's revocation list
)

// ClockSkew is how far a token's issue time may lie in the verifier's future:
// checkpoint clocks are not exact.
const ClockSkew = 5 * time.Minute

// Limits on untrusted input. MaxTokenLen is the alphanumeric capacity of the
// largest QR code (version 40, level L); maxDecompressed bounds zlib output
// against compression bombs.
const (
	MaxTokenLen     = 4296
	maxDecompressed = 16 << 10
)

// Reason returns the stable reason sub-code of an error from Verify (one of
// the Reason constants), or "" for nil or a foreign error. It is
// healthcode.ErrorDetail under a name that reads well at the call site.
func Reason(err error) string { return healthcode.ErrorDetail(err) }

// Tokens are zlib streams (RFC 1950) holding one stored deflate block.
// Deflate saves nothing on a token: its ~170 bytes are mostly signature, key
// id and pseudonym, and Go's writer at every level 1–9 falls back to a stored
// block anyway, after spending more time building Huffman tables than the
// signature takes. Writing the stored block directly is 4 bytes shorter than
// what compress/zlib emits and costs nothing.
//
// Any zlib decoder reads these streams. Verify reads a stream of stored
// blocks with its own strict reader, which refuses every non-canonical bit
// (deflate ignores the padding after a stored block's header, which would
// otherwise let a bit of the token change without effect). A stream of
// compressed blocks, as other DCC-style encoders write, goes through
// compress/zlib, bounded by maxDecompressed.

// zlibStored appends the zlib stream of b (len(b) ≤ 65535) as one stored block.
func zlibStored(dst, b []byte) []byte {
	n := len(b)
	dst = append(dst, 0x78, 0x01, 0x01, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
	dst = append(dst, b...)
	return binary.BigEndian.AppendUint32(dst, adler32.Checksum(b))
}

var zrPool sync.Pool // of io.ReadCloser implementing zlib.Resetter

// decompress returns the content of a zlib stream that must fill b exactly
// and hold at most maxDecompressed bytes.
func decompress(b []byte) ([]byte, error) {
	if len(b) < 3 {
		return nil, errTruncated
	}
	if cmf, flg := b[0], b[1]; cmf&0x0f != 8 || cmf>>4 > 7 || (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg&0x20 != 0 {
		return nil, constError("zlib: invalid header")
	}
	if b[2]&0x06 == 0 { // the first block is stored
		return inflateStored(b)
	}
	return inflate(b)
}

// inflateStored reads a zlib stream of stored blocks, refusing nonzero
// padding bits, a block of another type, and anything after the checksum.
func inflateStored(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	p := 2
	for {
		if len(b)-p < 5 {
			return nil, errTruncated
		}
		h, n := b[p], int(binary.LittleEndian.Uint16(b[p+1:]))
		if h&^1 != 0 {
			return nil, constError("zlib: stored block header has other bits set")
		}
		if binary.LittleEndian.Uint16(b[p+3:]) != ^uint16(n) {
			return nil, constError("zlib: stored block length check fails")
		}
		p += 5
		if len(b)-p < n {
			return nil, errTruncated
		}
		out = append(out, b[p:p+n]...)
		p += n
		if len(out) > maxDecompressed {
			return nil, errTooLarge
		}
		if h == 1 {
			break
		}
	}
	switch {
	case len(b)-p < 4:
		return nil, errTruncated
	case len(b)-p > 4:
		return nil, errTrailing
	case binary.BigEndian.Uint32(b[p:]) != adler32.Checksum(out):
		return nil, constError("zlib: checksum mismatch")
	}
	return out, nil
}

// inflate reads any zlib stream with compress/zlib. Readers are pooled: each
// holds a 32 KiB window.
func inflate(b []byte) ([]byte, error) {
	src := bytes.NewReader(b) // an io.ByteReader: flate reads no further than the stream
	var zr io.ReadCloser
	if v := zrPool.Get(); v != nil {
		zr = v.(io.ReadCloser)
		if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
			zrPool.Put(zr)
			return nil, err
		}
	} else {
		var err error
		if zr, err = zlib.NewReader(src); err != nil {
			return nil, err
		}
	}
	defer zrPool.Put(zr)
	out := bytes.NewBuffer(make([]byte, 0, 2*len(b)+64))
	n, err := out.ReadFrom(io.LimitReader(zr, maxDecompressed+1))
	switch {
	case err == io.ErrUnexpectedEOF:
		return nil, errTruncated
	case err != nil:
		return nil, err
	case n > maxDecompressed:
		return nil, errTooLarge
	case src.Len() != 0:
		return nil, errTrailing
	}
	return out.Bytes(), nil
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errTruncated = constError("zlib: stream is truncated")
	errTooLarge  = constError("zlib: payload inflates beyond the limit")
	errTrailing  = constError("zlib: data after the end of the stream")
)
