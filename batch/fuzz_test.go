package batch_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/batch"
)

// FuzzReader feeds arbitrary bytes to the reader in each format and checks
// that it never panics or loops, that lines and offsets only move forward,
// that every row it accepts is a valid tube result, that accepted rows survive a
// write and read back unchanged, and that resuming after a row yields the
// same remaining rows.
func FuzzReader(f *testing.F) {
	f.Add([]byte("tube_id,kind,result\nT1,,negative\n"), uint8(0))
	f.Add([]byte("\xEF\xBB\xBFtube_id,result\r\n\"T,1\",POSITIVE\r\n"), uint8(1))
	f.Add([]byte(`{"tube_id":"T1","result":"negative"}`+"\n{}\n"), uint8(0))
	f.Add([]byte(`{"tube_id":"管-1","kind":"antigen_test","result":"positive"}`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, fm uint8) {
		format := batch.Format(fm % 3)
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
			sub := row.Submission()
			if err := healthcode.ValidateTubeID(sub.Tube); err != nil || !sub.Evidence.Kind.IsTest() ||
				(sub.Evidence.Result != healthcode.Positive && sub.Evidence.Result != healthcode.Negative) {
				t.Fatalf("accepted row %+v is not a valid tube result: %v", row, err)
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
