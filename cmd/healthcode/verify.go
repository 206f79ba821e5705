package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"healthcode"
	"healthcode/qr"
)

// Exit codes of verify, one per reason a code is rejected.
var verifyExit = map[string]int{
	"qr.malformed":     4,
	"qr.unknown_key":   5,
	"qr.bad_signature": 6,
	"qr.expired":       7,
	"qr.not_yet_valid": 8,
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	trustPath := fs.String("trust", "", "trust file: the public keys of the regions whose codes to accept (required)")
	at := fs.String("at", "", "verify as of this RFC 3339 time instead of now")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: healthcode verify --trust FILE (CODE | IMAGE.png | -)

Verifies a health QR offline: its text (HCN1:...), a PNG or JPEG image of it,
or - to read the text from standard input. Prints colour, masked name, region
and validity; nothing medical.

exit codes: 0 valid, 1 cannot read input, 2 usage, 4 malformed, 5 unknown key,
6 bad signature, 7 expired, 8 not yet valid.

flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *trustPath == "" || fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "healthcode verify: --at: %v\n", err)
			return exitUsage
		}
		now = t
	}
	tb, err := os.ReadFile(*trustPath)
	if err != nil {
		return fail(stderr, "verify", err)
	}
	trust, err := qr.ParseTrust(tb)
	if err != nil {
		return fail(stderr, "verify", fmt.Errorf("trust file %s: %s", *trustPath, message(err)))
	}
	text, err := readCode(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "healthcode verify: %s\n", message(err))
		if healthcode.ErrorDetail(err) == "qr.malformed" {
			return verifyExit["qr.malformed"]
		}
		return exitError
	}
	c, err := qr.Verify(text, trust, now)
	if err != nil {
		reason := healthcode.ErrorDetail(err)
		if *asJSON {
			fmt.Fprintf(stdout, "{\"valid\":false,\"reason\":%q,\"message\":%q}\n", reason, healthcode.ErrorMessage(err))
		}
		fmt.Fprintf(stderr, "REJECTED: %s (%s)\n", healthcode.ErrorMessage(err), reason)
		if code, ok := verifyExit[reason]; ok {
			return code
		}
		return exitError
	}
	if *asJSON {
		fmt.Fprintf(stdout, "{\"valid\":true,\"colour\":%q,\"masked_name\":%q,\"region\":%q,\"issued_at\":%q,\"expires\":%q,\"ruleset_version\":%q}\n",
			c.Colour, c.MaskedName, c.Region, c.IssuedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339), c.RuleSetVersion)
		return exitOK
	}
	fmt.Fprintf(stdout, "VALID %s code (%s, %s)\n  name     %s\n  region   %s\n  issued   %s\n  expires  %s (in %s)\n  rule set %s\n",
		strings.ToUpper(c.Colour.String()), c.Colour.Chinese(), c.Colour.Shape(), c.MaskedName, c.Region,
		c.IssuedAt.Local().Format(time.RFC3339), c.Expires.Local().Format(time.RFC3339), c.Expires.Sub(now).Round(time.Second),
		c.RuleSetVersion)
	return exitOK
}

// readCode returns the code text from the argument: the text itself, "-" for
// standard input, or an image file to decode.
func readCode(arg string) (string, error) {
	if strings.HasPrefix(arg, qr.Prefix) {
		return arg, nil
	}
	var b []byte
	var err error
	if arg == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(arg)
	}
	if err != nil {
		return "", err
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, qr.Prefix) {
		return t, nil
	}
	return qr.DecodeImage(bytes.NewReader(b))
}
