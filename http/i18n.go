package http

// The pages' two languages: which one a request gets, and the table of
// every string the pages show, in both (i18n/messages.json, embedded).

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Languages of the pages.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie remembers a language chosen on a page.
const langCookie = "lang"

// negotiateLang picks the page language: the lang parameter, then the lang
// cookie, then the first of Chinese and English in Accept-Language by
// quality; Chinese when none says. fromParam reports a choice made by the
// parameter, which the page then remembers in the cookie.
func negotiateLang(r *http.Request) (lang string, fromParam bool) {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l, false
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language")), false
}

func parseLang(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh", "zh-cn", "zh-hans":
		return langZH, true
	case "en":
		return langEN, true
	}
	return "", false
}

// acceptLanguage returns langZH or langEN, whichever the header ranks
// higher (ties go to the earlier entry); langZH if it names neither.
func acceptLanguage(h string) string {
	best, bestQ := langZH, -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l string
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// msg is one string of the pages in both languages.
type msg struct{ zh, en string }

//go:embed i18n/*.json i18n/gbt2260.tsv
var messagesFS embed.FS

// messages is every string the pages show: i18n/messages.json and one
// catalog per area beside it (i18n/staff.json: the staff pages), and the
// names of the regions they name, as "region.<code>" (i18n/gbt2260.tsv).
// Keys with the prefixes in jsPrefixes are also sent to the verifier's
// script.
var messages = mustLoadMessages()

// mustLoadMessages reads the embedded catalogs and tables. A key given
// twice, in one catalog or in two, is a mistake the catalogs' authors
// cannot see, so it stops the program (and every test) rather than
// silently keeping one of the texts.
func mustLoadMessages() map[string]msg {
	names, err := fs.Glob(messagesFS, "i18n/*.json")
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("http: no message catalogs: %v", err))
	}
	out := map[string]msg{}
	for _, name := range names {
		b, err := messagesFS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		m, err := parseMessages(b)
		if err != nil {
			panic(fmt.Sprintf("http: %s: %v", name, err))
		}
		for k, v := range m {
			if _, dup := out[k]; dup {
				panic(fmt.Sprintf("http: %s: %s: key given in another catalog too", name, k))
			}
			out[k] = v
		}
	}
	b, err := messagesFS.ReadFile("i18n/gbt2260.tsv")
	if err != nil {
		panic(err)
	}
	regions, err := parseRegions(b)
	if err != nil {
		panic(fmt.Sprintf("http: i18n/gbt2260.tsv: %v", err))
	}
	for code, name := range regions {
		if _, dup := out["region."+code]; dup {
			panic("http: region." + code + " is in both tables")
		}
		out["region."+code] = name
	}
	return out
}

// parseRegions reads lines of "code<TAB>Chinese name<TAB>English name";
// lines starting with # are comments. A code is six digits, given once.
func parseRegions(b []byte) (map[string]msg, error) {
	out := map[string]msg{}
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimRight(line, "\r"); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || len(f[0]) != 6 || strings.Trim(f[0], "0123456789") != "" || f[1] == "" || f[2] == "" {
			return nil, fmt.Errorf("line %d: want a six-digit code, a Chinese and an English name separated by tabs: %q", i+1, line)
		}
		if _, dup := out[f[0]]; dup {
			return nil, fmt.Errorf("line %d: %s given twice", i+1, f[0])
		}
		out[f[0]] = msg{zh: f[1], en: f[2]}
	}
	return out, nil
}

// parseMessages reads a table of {"key": {"zh": "…", "en": "…"}, …},
// refusing a repeated key.
func parseMessages(b []byte) (map[string]msg, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := map[string]msg{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v struct {
			ZH string `json:"zh"`
			EN string `json:"en"`
		}
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: key given twice", k)
		}
		out[k] = msg{zh: v.ZH, en: v.EN}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// jsPrefixes select the messages the verifier's script needs;
// checkInPrefixes and posterPrefixes those of the check-in page's and the
// poster's.
var (
	jsPrefixes      = []string{"verify.", "reason.", "colour.", "shape.", "province.", "region.", "code.region.", "time.zone"}
	checkInPrefixes = []string{"checkin.", "colour.", "shape.", "time.zone"}
	posterPrefixes  = []string{"poster."}
	// bothPrefixes select the messages the verifier shows in both
	// languages, as "zh:key" and "en:key": its verdict on a code that must
	// not be accepted.
	bothPrefixes = []string{"reject.", "reason.", "verify.mode."}
)

// translate returns the message key in lang, or a visible marker for a key
// missing from the table (a test renders every page to find them).
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return "[[" + key + "]]"
	}
	if lang == langEN {
		return m.en
	}
	return m.zh
}

// jsMessages are the strings the verifier's script shows, in lang.
func jsMessages(lang string) map[string]string {
	out := jsMessagesFor(lang, jsPrefixes...)
	for _, l := range []string{langZH, langEN} {
		for k, v := range jsMessagesFor(l, bothPrefixes...) {
			out[l+":"+k] = v
		}
	}
	return out
}

// jsMessagesFor are the messages whose keys start with one of prefixes, in
// lang: what a page's script may show.
func jsMessagesFor(lang string, prefixes ...string) map[string]string {
	out := map[string]string{}
	for k := range messages {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = translate(lang, k)
			}
		}
	}
	return out
}

// messageKeys lists the table's keys in order, for tests.
func messageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
