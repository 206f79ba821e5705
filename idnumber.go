package healthcode

import (
	"time"
)

// idWeights are the GB 11643-1999 weights of the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum modulo 11 to the check character.
const idCheckChars = "10X98765432"

// IDCheckDigit returns the GB 11643 check character for the first 17 digits
// of a resident ID number, or 0 if they are not 17 digits.
func IDCheckDigit(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// CheckIDNumber checks an 18-digit resident ID number (GB 11643-1999): a
// GB/T 2260 address code with a valid province part, a real birth date from
// 1900 on, a sequence number and the check character (a digit or X; a
// lower-case x is accepted). Returns EINVALID with detail id_number.format,
// id_number.region, id_number.birth_date or id_number.checksum.
func CheckIDNumber(s string) error {
	if len(s) != 18 {
		return Errorfd(EINVALID, "id_number.format", "an ID number has 18 characters, not %d", len(s))
	}
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return Errorfd(EINVALID, "id_number.format", "ID number character %d is not a digit", i+1)
		}
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return Errorfd(EINVALID, "id_number.format", "the last ID number character must be a digit or X")
	}
	if s[:2] < "11" || s[:2] > "82" {
		return Errorfd(EINVALID, "id_number.region", "ID number has no valid province part")
	}
	y := atoiDigits(s[6:10])
	m := atoiDigits(s[10:12])
	d := atoiDigits(s[12:14])
	if y < 1900 || m < 1 || m > 12 || d < 1 || d > 31 ||
		time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() != d {
		return Errorfd(EINVALID, "id_number.birth_date", "ID number holds no valid birth date")
	}
	if IDCheckDigit(s[:17]) != last {
		return Errorfd(EINVALID, "id_number.checksum", "ID number check digit is wrong")
	}
	return nil
}

// ValidIDNumber reports whether s is a well-formed resident ID number with
// the right check digit (see CheckIDNumber).
func ValidIDNumber(s string) bool { return CheckIDNumber(s) == nil }

func atoiDigits(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
