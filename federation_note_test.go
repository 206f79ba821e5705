package healthcode_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"healthcode"
)

// FuzzPeerQueryNote: whatever a peer's log entry names as acting, the note
// this region logs is short printable UTF-8 (a log field), and reads back
// as the index and the acting written; any note parses without a panic.
func FuzzPeerQueryNote(f *testing.F) {
	f.Add(int64(26), "override: 申请：操作员 赵敏（运营人员，市大数据局）；批准：审批人 王强（审批人员，市卫健委）")
	f.Add(int64(0), "")
	f.Add(int64(-1), "x")
	f.Add(int64(7), "a; acting: b\nc\x00"+strings.Repeat("长", 400))
	f.Fuzz(func(t *testing.T, index int64, acting string) {
		healthcode.ParsePeerQueryNote(acting)
		note := healthcode.PeerQueryNote(&healthcode.PeerQuery{LogIndex: index, PeerActing: acting})
		if index < 0 {
			if note != "" {
				t.Fatalf("a note for no entry: %q", note)
			}
			return
		}
		if len(note) > 1024 || !utf8.ValidString(note) || strings.IndexFunc(note, unicode.IsControl) >= 0 {
			t.Fatalf("note is not a short printable log field: %q", note)
		}
		i, a, ok := healthcode.ParsePeerQueryNote(note)
		if !ok || i != index {
			t.Fatalf("ParsePeerQueryNote(%q) = %d %q %v, want %d", note, i, a, ok, index)
		}
		if strings.TrimSpace(acting) != "" && a == "" && strings.IndexFunc(acting, func(r rune) bool { return !unicode.IsControl(r) && r != utf8.RuneError && !unicode.IsSpace(r) }) >= 0 {
			t.Fatalf("acting %q lost", acting)
		}
	})
}
