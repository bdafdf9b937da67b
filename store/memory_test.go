package store_test

import (
	"testing"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/store/storetest"
)

func openMemory(t *testing.T) store.Store {
	s := store.NewMemory()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMemory(t *testing.T) { storetest.Run(t, openMemory) }
