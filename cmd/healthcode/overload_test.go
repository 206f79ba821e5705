package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

// TestCheckInsRefuseAWaitAboveTheBudget: when a check-in would wait longer
// than the node's budget for its commit, it is refused at once with 503, a
// problem naming the queue and Retry-After, and stores nothing; every 201 is
// stored. The budget here is a millisecond, so that a burst of concurrent
// check-ins from 200 people overruns it on any machine.
func TestCheckInsRefuseAWaitAboveTheBudget(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, 1000)
	tn.engine.CheckInWait = time.Millisecond
	owner := tn.token(t, healthcode.Principal{ID: "venue-owner-o", Name: "二七广场", Role: healthcode.RoleVenue})
	operator := tn.token(t, healthcode.Principal{ID: "op-o", Name: "操作员", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	var v hchttp.VenueJSON
	if st := tn.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "二七广场", Address: "二七区1号", Region: "410103", Category: "retail"}, &v); st != 201 {
		t.Fatalf("register venue: %d", st)
	}
	if st := tn.post(t, "/api/v1/venues/"+v.ID+"/status", operator, map[string]string{"status": "active"}, nil); st != 200 {
		t.Fatalf("approve venue: %d", st)
	}
	var codes hchttp.VenueCodeJSON
	if st := tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes); st != 200 {
		t.Fatalf("venue code: %d", st)
	}
	const people = 200
	tokens := make([]string, people)
	for i := range tokens {
		_, _, tokens[i] = tn.citizen(t, i+1)
	}
	body := fmt.Sprintf(`{"code":%q}`, codes.Static)
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		bad      []string
	)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", tn.url+"/api/v1/checkins", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				mu.Lock()
				bad = append(bad, err.Error())
				mu.Unlock()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			switch resp.StatusCode {
			case 201:
			case 503:
				var p struct {
					Reason string `json:"reason"`
				}
				json.Unmarshal(b, &p)
				ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if p.Reason != "checkin.busy" || err != nil || ra < 1 {
					bad = append(bad, fmt.Sprintf("503 without its problem or Retry-After: %q %s", resp.Header.Get("Retry-After"), b))
				}
			default:
				bad = append(bad, fmt.Sprintf("%d %s", resp.StatusCode, b))
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d bad answers, e.g. %s", len(bad), bad[0])
	}
	if statuses[503] == 0 || statuses[201] == 0 {
		t.Fatalf("statuses %v: want some check-ins stored and some refused for the wait", statuses)
	}
	var rows int64
	if err := tn.engine.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		rows, _, err = tx.CountCheckIns(ctx, healthcode.CheckInQuery{Venue: v.ID, From: tn.clock.Now().Add(-time.Hour), To: tn.clock.Now().Add(time.Hour)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rows != int64(statuses[201]) {
		t.Fatalf("%d check-ins stored, %d answered 201 (statuses %v)", rows, statuses[201], statuses)
	}
	t.Logf("statuses %v", statuses)
}
