package qr

import "fmt"

// base45 implements RFC 9285. Its 45 characters are exactly the QR code
// alphanumeric set, so a token fills the QR code in alphanumeric mode
// (5.5 bits a character) rather than byte mode (8 bits).
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a character to its value; 0xff marks a byte outside the alphabet.
var base45Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// base45EncodedLen returns the length of the encoding of n bytes.
func base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// base45Append appends the encoding of src to dst.
func base45Append(dst, src []byte) []byte {
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		src = src[2:]
	}
	if len(src) == 1 {
		n := int(src[0])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return dst
}

// base45Encode returns the encoding of src.
func base45Encode(src []byte) string {
	return string(base45Append(make([]byte, 0, base45EncodedLen(len(src))), src))
}

// base45Decode decodes s. It refuses characters outside the alphabet, a
// dangling single character, and groups whose value does not fit: every
// input has at most one decoding and every byte string exactly one encoding.
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("base45: length %d leaves a single character", len(s))
	}
	dst := make([]byte, 0, len(s)/3*2+len(s)%3/2)
	for i := 0; i < len(s); i += 3 {
		c, d := base45Value[s[i]], base45Value[s[i+1]]
		if c == 0xff || d == 0xff {
			return nil, fmt.Errorf("base45: invalid character at offset %d", i)
		}
		n := int(c) + int(d)*45
		if i+2 == len(s) {
			if n > 0xff {
				return nil, fmt.Errorf("base45: final pair at offset %d exceeds a byte", i)
			}
			dst = append(dst, byte(n))
			break
		}
		e := base45Value[s[i+2]]
		if e == 0xff {
			return nil, fmt.Errorf("base45: invalid character at offset %d", i+2)
		}
		n += int(e) * 2025
		if n > 0xffff {
			return nil, fmt.Errorf("base45: group at offset %d exceeds two bytes", i)
		}
		dst = append(dst, byte(n>>8), byte(n))
	}
	return dst, nil
}
