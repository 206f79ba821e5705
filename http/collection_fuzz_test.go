package http

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"healthcode"
)

// FuzzCollectionBody feeds arbitrary bodies to the collections endpoint's
// decoding and checks: never a panic, and whatever decodes either makes a
// valid collection or is refused with EINVALID.
func FuzzCollectionBody(f *testing.F) {
	f.Add([]byte(`{"id_number":"11010519491231002X","tube":"T-1","site":"金水区文化路采样点","collected_at":"2022-06-14T07:00:00Z"}`))
	f.Add([]byte(`{"items":[{"code":"HC1:abc","tube":"MIX-1","mixed":true,"site":"s","collected_at":"2022-06-14T07:00:00+08:00"}]}`))
	f.Add([]byte(`{"tube":"T\u0001","site":"","collected_at":"1999-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"tube":`))
	f.Add([]byte(`{"items":[]}`))
	now := time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/collections", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req struct {
			CollectionJSON
			Items []CollectionJSON `json:"items"`
		}
		if err := decodeJSON(r, &req); err != nil {
			if healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("decode error %v is not EINVALID", err)
			}
			return
		}
		for _, c := range append(req.Items, req.CollectionJSON) {
			col := healthcode.Collection{Tube: c.Tube, Mixed: c.Mixed, Subject: "p", Site: c.Site, Collector: "s", CollectorUnit: "u", CollectedAt: c.CollectedAt.UTC()}
			err := col.Validate(now)
			if err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("validation error %v is not EINVALID", err)
			}
			if err == nil && (healthcode.ValidateTubeID(c.Tube) != nil || len(col.Digest()) != 64) {
				t.Fatalf("a valid collection %+v with a bad tube id or digest", col)
			}
		}
	})
}
