package http

import (
	"bytes"
	"testing"

	"healthcode"
)

// FuzzReadExport: whatever file a person hands `healthcode rules explain`,
// ReadExport answers a clear error or an export whose decisions and
// evidence convert without panicking.
func FuzzReadExport(f *testing.F) {
	f.Add([]byte(`{"subject":"p","region":"410100","code":{"colour":"green","reason":"none","rule_id":"default","evidence_ids":[]},"history":[],"evidence":[]}`))
	f.Add([]byte(`{"subject":"p","code":{"colour":"red","lifts_at":"2022-07-20T04:00:00Z"},"history":[{"decision":{"colour":"red","evidence_ids":[1]}}],"evidence":[{"id":1,"kind":"close_contact","observed_at":"2022-07-10T04:00:00Z"}]}`))
	f.Add([]byte(`{"subject":"p","code":{"colour":"purple"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ReadExport(bytes.NewReader(data))
		if err != nil {
			if c := healthcode.ErrorCode(err); c != healthcode.EINVALID && c != healthcode.ETOOLARGE {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		_ = x.EvidenceOf()
		_, _, _ = x.Decisions()
	})
}
