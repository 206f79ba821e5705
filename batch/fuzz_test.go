package batch_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/batch"
)

// FuzzReader feeds arbitrary bytes to the reader in each format and checks
// that it never panics or loops, that lines and offsets only move forward,
// that every row it accepts is valid evidence, that accepted rows survive a
// write and read back unchanged, and that resuming after a row yields the
// same remaining rows.
func FuzzReader(f *testing.F) {
	f.Add([]byte("sample_id,id_number,kind,result,collected_at,pooled,pool_id\nS1,11010519491231002X,,negative,2022-05-01T08:30:00+08:00,true,T1\n"), uint8(0))
	f.Add([]byte("\xEF\xBB\xBFsample_id,id_number,result,collected_at\r\n\"S,1\",11010519491231002x,POSITIVE,2022-05-01T00:30:00Z\r\n"), uint8(1))
	f.Add([]byte(`{"sample_id":"S1","id_number":"11010519491231002X","result":"negative","collected_at":"2022-05-01T08:30:00+08:00","pooled":"true","pool_id":"T1"}`+"\n{}\n"), uint8(0))
	f.Add([]byte(`{"sample_id":"S1","id_number":"410104196504307132","kind":"antigen_test","result":"positive","collected_at":"2022-05-01T08:30:00.5+08:00"}`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, fm uint8) {
		format := batch.Format(fm % 3)
		lab := healthcode.Principal{ID: "lab-001", Name: "实验室", Role: healthcode.RoleLab}
		far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
		r := batch.NewReader(bytes.NewReader(data), format)
		var rows []batch.Row
		var ends []int64 // ByteOffset of every row and row error
		line, off := 0, int64(0)
		for calls := 0; ; calls++ {
			if calls > len(data)+2 {
				t.Fatalf("more results than bytes: the reader loops")
			}
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			var re *batch.RowError
			if err != nil && !errors.As(err, &re) {
				if healthcode.ErrorCode(err) != healthcode.EINVALID {
					t.Fatalf("fatal error %v is not EINVALID", err)
				}
				return
			}
			if row.Line <= line || row.ByteOffset <= off || row.ByteOffset > int64(len(data)) {
				t.Fatalf("row at line %d offset %d after line %d offset %d (file %d bytes)", row.Line, row.ByteOffset, line, off, len(data))
			}
			line, off = row.Line, row.ByteOffset
			ends = append(ends, off)
			if re != nil {
				if re.Detail() == "" || re.Line != row.Line {
					t.Fatalf("row error without a reason or line: %+v", re)
				}
				continue
			}
			ev := row.Evidence(lab)
			ev.Subject = "p1"
			if err := ev.Validate(far); err != nil {
				t.Fatalf("accepted row %+v is not valid evidence: %v", row, err)
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 {
			return
		}

		// Written and read back, the accepted rows are the same.
		var buf bytes.Buffer
		w := batch.NewWriter(&buf, r.Format())
		for _, row := range rows {
			if err := w.Write(row); err != nil {
				t.Fatalf("writing %+v: %v", row, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		back := batch.NewReader(&buf, r.Format())
		for i := range rows {
			got, err := back.Next()
			if err != nil {
				t.Fatalf("reading back row %d: %v\n%s", i, err, buf.String())
			}
			want := rows[i]
			got.Line, got.ByteOffset, want.Line, want.ByteOffset = 0, 0, 0, 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("round trip of row %d (-want +got):\n%s", i, diff)
			}
		}

		// Resuming after the first result gives the rows after it.
		res := batch.Resume(bytes.NewReader(data), format, ends[0])
		var rest []batch.Row
		for {
			row, err := res.Next()
			if err == io.EOF {
				break
			}
			var re *batch.RowError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("resume at %d: %v", ends[0], err)
			}
			if re == nil {
				rest = append(rest, row)
			}
		}
		want := rows
		if rows[0].ByteOffset == ends[0] {
			want = rows[1:]
		}
		if len(want) == 0 {
			want = nil
		}
		if diff := cmp.Diff(want, rest); diff != "" {
			t.Fatalf("resume at %d (-want +got):\n%s", ends[0], diff)
		}
	})
}
