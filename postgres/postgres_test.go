package postgres_test

import (
	"testing"

	"healthcode"
	"healthcode/postgres/pgtest"
	"healthcode/storetest"
)

func open(t *testing.T) healthcode.Store { return pgtest.Open(t) }

func TestConformance(t *testing.T) { storetest.Run(t, open) }
