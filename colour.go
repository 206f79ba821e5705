package healthcode

// Colour is a health-code colour. The zero value is invalid so that a colour
// never appears by accident.
type Colour uint8

const (
	Green  Colour = 1
	Yellow Colour = 2
	Red    Colour = 3
)

// ParseColour parses "green", "yellow" or "red".
func ParseColour(s string) (Colour, error) {
	switch s {
	case "green":
		return Green, nil
	case "yellow":
		return Yellow, nil
	case "red":
		return Red, nil
	}
	return 0, Errorfd(EINVALID, "colour.unknown", "unknown colour %q (want green, yellow or red)", s)
}

// String returns the lower-case English name of the colour.
func (c Colour) String() string {
	switch c {
	case Green:
		return "green"
	case Yellow:
		return "yellow"
	case Red:
		return "red"
	}
	return "invalid"
}

// Valid reports whether c is one of the three colours.
func (c Colour) Valid() bool { return c >= Green && c <= Red }

// Restrictive reports whether c restricts movement (yellow or red).
func (c Colour) Restrictive() bool { return c == Yellow || c == Red }

// Shape names the shape drawn beside the colour, so a code is readable without
// colour vision: a circle for green, a triangle for yellow, a square for red.
func (c Colour) Shape() string {
	switch c {
	case Green:
		return "circle"
	case Yellow:
		return "triangle"
	case Red:
		return "square"
	}
	return ""
}

// Chinese returns the colour's name in Chinese (绿码, 黄码, 红码).
func (c Colour) Chinese() string {
	switch c {
	case Green:
		return "绿码"
	case Yellow:
		return "黄码"
	case Red:
		return "红码"
	}
	return ""
}
