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

	"golang.org/x/mod/sumdb/note"

	"healthcode"
	"healthcode/federation"
	"healthcode/qr"
)

// Exit codes of verify, one per reason a code is rejected.
var verifyExit = map[string]int{
	"qr.malformed":     4,
	"qr.unknown_key":   5,
	"qr.bad_signature": 6,
	"qr.expired":       7,
	"qr.not_yet_valid": 8,
	"qr.key_revoked":   9,
	"qr.key_not_valid": 10,
	"qr.code_revoked":  11,
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	trustPath := fs.String("trust", "", "trust file: a node's trust.json, or the national trust list (a signed note, with --national-key) (required)")
	nationalPath := fs.String("national-key", "", "file holding the national key's public note key: --trust is then the signed national trust list, and the issuing region is named from it")
	at := fs.String("at", "", "verify as of this RFC 3339 time instead of now")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: healthcode verify --trust FILE [--national-key FILE] (CODE | IMAGE.png | -)

Verifies a health QR offline: its text (HCN1:...), a PNG or JPEG image of it,
or - to read the text from standard input. Prints colour, masked name, the
issuing region and validity; nothing medical. With the national trust list
(--trust LIST --national-key KEY) a code of any region in it verifies, unless
its key or the code itself is revoked there.

exit codes: 0 valid, 1 cannot read input or the trust list, 2 usage,
4 malformed, 5 unknown key, 6 bad signature, 7 expired, 8 not yet valid,
9 key revoked, 10 key not valid at the time, 11 code revoked.

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
	var trust *qr.Trust
	var list *federation.TrustList
	switch {
	case *nationalPath != "":
		national, err := readNationalKey(*nationalPath)
		if err != nil {
			return fail(stderr, "verify", err)
		}
		if list, err = federation.OpenTrustList(tb, note.VerifierList(national), now); err != nil {
			return fail(stderr, "verify", fmt.Errorf("trust list %s: %s", *trustPath, message(err)))
		}
		trust = list.QRTrust()
	case bytes.Contains(tb, []byte("\n\n— ")):
		fmt.Fprintf(stderr, "healthcode verify: %s is a signed trust list: give the national key that signs it with --national-key FILE\n", *trustPath)
		return exitUsage
	default:
		if trust, err = qr.ParseTrust(tb); err != nil {
			return fail(stderr, "verify", fmt.Errorf("trust file %s: %s", *trustPath, message(err)))
		}
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
	region := c.Region
	if list != nil {
		r, err := list.Region(c.Region)
		if err != nil {
			fmt.Fprintf(stderr, "REJECTED: %s (%s)\n", healthcode.ErrorMessage(err), healthcode.ErrorDetail(err))
			return exitError
		}
		region = fmt.Sprintf("%s %s (issuing region, trust list %d)", r.Code, r.Name, list.Serial)
	}
	if *asJSON {
		name := ""
		if list != nil {
			r, _ := list.Region(c.Region)
			name = r.Name
		}
		fmt.Fprintf(stdout, "{\"valid\":true,\"colour\":%q,\"masked_name\":%q,\"region\":%q,\"region_name\":%q,\"issued_at\":%q,\"expires\":%q,\"ruleset_version\":%q}\n",
			c.Colour, c.MaskedName, c.Region, name, c.IssuedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339), c.RuleSetVersion)
		return exitOK
	}
	fmt.Fprintf(stdout, "VALID %s code (%s, %s)\n  name     %s\n  region   %s\n  issued   %s\n  expires  %s (in %s)\n  rule set %s\n",
		strings.ToUpper(c.Colour.String()), c.Colour.Chinese(), c.Colour.Shape(), c.MaskedName, region,
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
