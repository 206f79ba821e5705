package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"healthcode"
)

// Key rotations, as log reasons.
const (
	ReasonQRKeyRotated        = "qr_key_rotated"
	ReasonVenueSecretsRotated = "venue_secrets_rotated"
)

// MaxKeyOverlap bounds how long a rotated-out key stays accepted.
const MaxKeyOverlap = 90 * 24 * time.Hour

func admin(actor *healthcode.Principal) error {
	if actor == nil || actor.Role != healthcode.RoleAdmin {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only an admin rotates keys")
	}
	return nil
}

// LogKeyRotation records in the log a rotation of the QR signing key an
// admin made (the key files are the caller's): ref says which key replaced
// which, and until when the old one stays trusted. Returns the entry's index.
func (e *Engine) LogKeyRotation(ctx context.Context, actor *healthcode.Principal, ref string) (int64, error) {
	if err := admin(actor); err != nil {
		return 0, err
	}
	if err := healthcode.ValidLine("key.ref", ref, 400); err != nil {
		return 0, err
	}
	var index int64
	err := e.update(ctx, func(u *unit) error {
		index = u.log(&healthcode.LogEntry{Type: healthcode.LogKey, Time: e.now(), Region: e.Region, Reason: ReasonQRKeyRotated,
			ActorName: actor.Name, ActorRole: actor.Role, Ref: ref})
		return nil
	})
	return index, err
}

// RotateVenueSecrets gives every venue a new secret, keeping its previous
// one accepted for overlap (posters are reprinted meanwhile), sealed under
// the region key, in one transaction with its log entry. Returns how many
// venues and the entry's index.
func (e *Engine) RotateVenueSecrets(ctx context.Context, actor *healthcode.Principal, overlap time.Duration) (int, int64, error) {
	if err := admin(actor); err != nil {
		return 0, 0, err
	}
	if overlap <= 0 || overlap > MaxKeyOverlap {
		return 0, 0, healthcode.Errorfd(healthcode.EINVALID, "key.overlap", "the overlap must be positive and at most %s", MaxKeyOverlap)
	}
	now := e.now()
	n := 0
	var index int64
	err := e.update(ctx, func(u *unit) error {
		for after := ""; ; {
			vs, err := u.tx.Venues(ctx, after, 1000)
			if err != nil {
				return err
			}
			for i := range vs {
				v := &vs[i]
				if err := e.Keys.OpenVenue(v); err != nil {
					return err
				}
				v.PreviousSecret, v.PreviousUntil = v.Secret, now.Add(overlap)
				v.Secret = make([]byte, healthcode.VenueSecretSize)
				if _, err := rand.Read(v.Secret); err != nil {
					return err
				}
				if err := e.Keys.SealVenue(v); err != nil {
					return err
				}
				if err := u.tx.SetVenueSecret(ctx, v.ID, v.SealedSecret); err != nil {
					return err
				}
				n++
			}
			if len(vs) < 1000 {
				break
			}
			after = vs[len(vs)-1].ID
		}
		index = u.log(&healthcode.LogEntry{Type: healthcode.LogKey, Time: now, Region: e.Region, Reason: ReasonVenueSecretsRotated,
			ActorName: actor.Name, ActorRole: actor.Role,
			Ref: fmt.Sprintf("venue secrets of %d venues rotated; the old ones accepted until %s", n, now.Add(overlap).UTC().Format(time.RFC3339))})
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	e.venues.clear()
	return n, index, nil
}
