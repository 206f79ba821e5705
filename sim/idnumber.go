package sim

import "healthcode"

// IDCheckDigit returns the GB 11643 check character for the first 17 digits
// of a resident ID number, or 0 if they are not 17 digits.
func IDCheckDigit(first17 string) byte { return healthcode.IDCheckDigit(first17) }

// CheckIDNumber checks a resident ID number; see healthcode.CheckIDNumber.
func CheckIDNumber(s string) error { return healthcode.CheckIDNumber(s) }

// ValidIDNumber reports whether s is a well-formed resident ID number.
func ValidIDNumber(s string) bool { return healthcode.ValidIDNumber(s) }
