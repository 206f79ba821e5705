package batch_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"healthcode"
	"healthcode/batch"
)

const benchRows = 1_000_000

// benchFile returns a batch file of benchRows tube results.
func benchFile(b *testing.B, f batch.Format) []byte {
	b.Helper()
	var buf bytes.Buffer
	w := batch.NewWriter(&buf, f)
	for i := range benchRows {
		err := w.Write(batch.Row{Tube: fmt.Sprintf("S01-MIX202205010800-%08d", i), Kind: healthcode.NucleicAcidTest, Result: healthcode.Negative})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchmarkRead(b *testing.B, f batch.Format) {
	data := benchFile(b, f)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := batch.NewReader(bytes.NewReader(data), f)
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("read %d rows, want %d", n, benchRows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}

// BenchmarkReadCSV parses a million-row CSV file.
func BenchmarkReadCSV(b *testing.B) { benchmarkRead(b, batch.CSV) }

// BenchmarkReadJSONLines parses a million-row JSON-lines file.
func BenchmarkReadJSONLines(b *testing.B) { benchmarkRead(b, batch.JSONLines) }
