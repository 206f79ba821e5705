package http

import "testing"

// TestParseMessagesRefusesRepeatedKey: a JSON object may repeat a key and
// encoding/json would keep the later text; the table must not.
func TestParseMessagesRefusesRepeatedKey(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"a": {"zh": "甲", "en": "A"}, "a": {"zh": "乙", "en": "B"}}`,
		`{"a": {"zh": "甲", "en": "A", "fr": "x"}}`,
		`["a"]`,
		`{"a": {"zh": "甲", "en": "A"}`,
	} {
		if _, err := parseMessages([]byte(in)); err == nil {
			t.Errorf("parseMessages(%s) accepted it", in)
		}
	}
	m, err := parseMessages([]byte(`{"a": {"zh": "甲", "en": "A"}}`))
	if err != nil || m["a"] != (msg{"甲", "A"}) {
		t.Errorf("parseMessages: %v %v", m, err)
	}
}
