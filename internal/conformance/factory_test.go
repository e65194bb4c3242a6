package conformance

import (
	"io"
	"testing"
)

// reopening is a Factory's body for an engine opened by open: the engine,
// closed when the subtest ends, and its reopen.
func reopening[E interface {
	Engine
	io.Closer
}](t *testing.T, open func() (E, error)) (Engine, func() Engine) {
	mustOpen := func() E {
		db, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := mustOpen()
	t.Cleanup(func() { db.Close() })
	return db, func() Engine {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = mustOpen()
		return db
	}
}
