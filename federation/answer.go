package federation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/note"

	"healthcode"
)

// AnswerFormat is the first field of every status answer.
const AnswerFormat = "healthcode status answer v1"

// MaxAnswerSize bounds a status answer read from a peer: a receipt is a
// leaf, its opening, up to 63 proof hashes and a cosigned checkpoint.
const MaxAnswerSize = 64 << 10

// Error details of status queries (code EINVALID unless said).
const (
	ReasonAnswerMalformed = "federation.answer_malformed" // not a status answer
	ReasonAnswerSignature = "federation.answer_signature" // not signed by the peer's node key
	ReasonReplayed        = "federation.replayed"         // another query's answer (nonce), or a stale one
	ReasonBadProof        = "federation.bad_proof"        // the log proof does not verify, or proves something else
	ReasonOwnRegion       = "federation.own_region"       // a code of this region: answered locally
	ReasonPeerRefused     = "federation.peer_refused"     // the peer refused the query (code EUNAVAILABLE)
	ReasonNotAuthorised   = "federation.not_authorised"   // no valid code of the answering region authorises the query
)

// Answer is a region's signed statement of one traveller's colour, for one
// query. It is a C2SP signed note by the answering region's node key whose
// text is this JSON. The receipt is the C2SP tlog-proof of the log entry
// that decided the colour, with the opening of its commitments (the
// traveller's pseudonym, the reason): what a peer needs to check the reason
// is the one the log recorded.
type Answer struct {
	Format   string    `json:"format"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Nonce    string    `json:"nonce"`
	Subject  string    `json:"subject"`
	Colour   string    `json:"colour"`
	Reason   string    `json:"reason"`
	LogIndex int64     `json:"log_index"` // -1: nothing decided yet (the rule set's default)
	Answered time.Time `json:"answered"`
	Receipt  string    `json:"receipt,omitempty"` // base64 tlog-proof; empty when LogIndex is -1
}

func malformedAnswer(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, ReasonAnswerMalformed, "status answer: "+format, args...)
}

// ParseAnswer parses and checks the JSON text of a status answer (no
// signature: see OpenAnswer). Returns EINVALID (detail
// ReasonAnswerMalformed) for anything not as documented on Answer.
func ParseAnswer(text []byte) (*Answer, error) {
	if len(text) > MaxAnswerSize {
		return nil, malformedAnswer("%d bytes, more than %d", len(text), MaxAnswerSize)
	}
	var a Answer
	d := json.NewDecoder(bytes.NewReader(text))
	d.DisallowUnknownFields()
	if err := d.Decode(&a); err != nil {
		return nil, malformedAnswer("%v", err)
	}
	if _, err := d.Token(); err == nil {
		return nil, malformedAnswer("data after the JSON object")
	}
	if a.Format != AnswerFormat {
		return nil, malformedAnswer("format is %q, not %q", a.Format, AnswerFormat)
	}
	for _, r := range []string{a.From, a.To} {
		if err := healthcode.ValidateRegion(r); err != nil {
			return nil, malformedAnswer("%s", healthcode.ErrorMessage(err))
		}
	}
	if n, err := base64.StdEncoding.DecodeString(a.Nonce); err != nil || len(n) != nonceLen {
		return nil, malformedAnswer("nonce is not %d bytes of base64", nonceLen)
	}
	if a.Subject == "" || !printable(a.Subject, 100) {
		return nil, malformedAnswer("no subject")
	}
	if _, err := healthcode.ParseColour(a.Colour); err != nil {
		return nil, malformedAnswer("colour %q", a.Colour)
	}
	if !printable(a.Reason, 100) {
		return nil, malformedAnswer("reason is not short printable text")
	}
	if a.Answered.IsZero() {
		return nil, malformedAnswer("no answer time")
	}
	switch {
	case a.LogIndex < -1:
		return nil, malformedAnswer("log_index %d", a.LogIndex)
	case a.LogIndex == -1 && a.Receipt != "":
		return nil, malformedAnswer("a receipt for no log entry")
	case a.LogIndex >= 0 && a.Receipt == "":
		return nil, malformedAnswer("log entry %d without its receipt", a.LogIndex)
	}
	if _, err := base64.StdEncoding.DecodeString(a.Receipt); err != nil {
		return nil, malformedAnswer("receipt is not base64")
	}
	return &a, nil
}

// OpenAnswer verifies a signed status answer with the answering region's
// node key and parses it. Returns EINVALID with ReasonAnswerSignature if
// the key did not sign it, or ParseAnswer's errors.
func OpenAnswer(msg []byte, node note.Verifier) (*Answer, error) {
	if len(msg) > MaxAnswerSize {
		return nil, malformedAnswer("%d bytes, more than %d", len(msg), MaxAnswerSize)
	}
	n, err := note.Open(msg, note.VerifierList(node))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, healthcode.Errorfd(healthcode.EINVALID, ReasonAnswerSignature, "status answer is not signed by the region's node key: %v", err)
		}
		return nil, malformedAnswer("not a signed note: %v", err)
	}
	return ParseAnswer([]byte(n.Text))
}

// signAnswer returns a as a note signed by signer.
func signAnswer(a *Answer, signer note.Signer) ([]byte, error) {
	a.Format = AnswerFormat
	text, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: string(text) + "\n"}, signer)
}
