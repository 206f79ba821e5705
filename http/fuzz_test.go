package http

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"healthcode"
)

// FuzzEvidenceBody feeds arbitrary bodies to the evidence endpoint's
// streaming decoder and checks: never a panic, one to MaxBatch items or an
// EINVALID/ETOOLARGE refusal, and anything that decodes either validates or
// is refused with EINVALID.
func FuzzEvidenceBody(f *testing.F) {
	f.Add([]byte(`{"kind":"nucleic_acid_test","id_number":"11010519491231002X","external_id":"S1","observed_at":"2022-06-14T07:00:00Z","result":"positive"}`))
	f.Add([]byte(`{"items":[{"kind":"antigen_test","subject":"pabc","external_id":"A","observed_at":"2022-06-14T07:00:00Z","result":"negative"}]}`))
	f.Add([]byte(`{"kind":"travel","risk_level":"high","area":"310115","external_id":"T","observed_at":"2022-06-14T07:00:00Z","subject":"p"}`))
	f.Add([]byte(`{"kind":"nucleic_acid_test","tube":"T-1","result":"positive"}`))
	f.Add([]byte(`{"items":[{"kind":"antigen_test","tube":"MIX\u0000","result":"negative"}]}`))
	f.Add([]byte(`{"kind":`))
	f.Add([]byte(`[]`))
	now := time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/evidence", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		items, _, err := decodeEvidence(r)
		if err != nil {
			if c := healthcode.ErrorCode(err); c != healthcode.EINVALID && c != healthcode.ETOOLARGE {
				t.Fatalf("decode error %v is not EINVALID", err)
			}
			return
		}
		if len(items) == 0 || len(items) > MaxBatch {
			t.Fatalf("%d items decoded", len(items))
		}
		for i := range items {
			s := items[i].submission(i)
			if s.Evidence.Subject == "" {
				s.Evidence.Subject = "p"
			}
			s.Evidence.Submitter = "lab"
			if err := s.Evidence.Validate(now); err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("validation error %v is not EINVALID", err)
			}
			if err := healthcode.ValidateTubeID(s.Tube); err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("tube id error %v is not EINVALID", err)
			}
		}
	})
}

// FuzzRegistryBody feeds arbitrary bodies to the registry endpoints'
// decoding and checks: never a panic, and what decodes either validates as
// a unit or an official or is refused with EINVALID.
func FuzzRegistryBody(f *testing.F) {
	f.Add([]byte(`{"name":"市疾控中心","region":"410102"}`))
	f.Add([]byte(`{"name":"流调员 李娜","role":"epidemiologist","unit":"u7q"}`))
	f.Add([]byte(`{"name":"x\u0000","role":"citizen","unit":""}`))
	f.Add([]byte(`{"role":"system"}`))
	f.Add([]byte(`{"name":`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/v1/units", "/api/v1/officials"} {
			r := httptest.NewRequest("POST", path, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if path == "/api/v1/units" {
				var u UnitJSON
				if err := decodeJSON(r, &u); err != nil {
					if healthcode.ErrorCode(err) != healthcode.EINVALID {
						t.Fatalf("decode error %v is not EINVALID", err)
					}
					continue
				}
				if u.Region == "" {
					u.Region = "410100"
				}
				unit := healthcode.Unit{Name: u.Name, Region: u.Region}
				if err := unit.Validate(); err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
					t.Fatalf("unit validation error %v is not EINVALID", err)
				}
				continue
			}
			var o OfficialJSON
			if err := decodeJSON(r, &o); err != nil {
				if healthcode.ErrorCode(err) != healthcode.EINVALID {
					t.Fatalf("decode error %v is not EINVALID", err)
				}
				continue
			}
			official := healthcode.Official{Name: o.Name, Role: healthcode.Role(o.Role), Unit: o.Unit}
			if err := official.Validate(); err != nil && healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("official validation error %v is not EINVALID", err)
			}
		}
	})
}
