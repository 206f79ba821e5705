package http

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"healthcode"
)

// LogReader serves the transparency log read-only.
type LogReader interface {
	// Checkpoint returns the last signed checkpoint note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Tile returns a C2SP tile or entry bundle and whether it is immutable.
	Tile(ctx context.Context, path string) ([]byte, bool, error)
	// Receipt returns the inclusion proof of entry index, if it concerns
	// subject; ENOTFOUND otherwise.
	Receipt(ctx context.Context, subject string, index int64) ([]byte, error)
}

func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	b, err := s.Log.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(b)
	return err
}

func (s *Server) logTile(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	b, immutable, err := s.Log.Tile(r.Context(), "tile/"+r.PathValue("path"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if immutable {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=10")
	}
	_, err = w.Write(b)
	return err
}

func (s *Server) myProof(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "log index must be a non-negative integer")
	}
	b, err := s.Log.Receipt(r.Context(), p.Subject, index)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="healthcode-proof-%d.txt"`, index))
	_, err = w.Write(b)
	return err
}
