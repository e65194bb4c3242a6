package boltstore

import (
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestScan(t *testing.T) {
	db := openTemp(t)
	keys := []string{"a/1", "a/2", "a/3", "b/1", "c/1"}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Put([]byte(k), []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	collect := func(prefix string, reverse bool, after string) string {
		var got []string
		_ = db.bolt.View(func(tx *bolt.Tx) error {
			scan(tx.Bucket([]byte("b")), prefix, reverse, after, func(k, _ []byte) bool { got = append(got, string(k)); return true })
			return nil
		})
		return strings.Join(got, ",")
	}
	cases := []struct {
		prefix  string
		reverse bool
		after   string
		want    string
	}{
		{"a/", false, "", "a/1,a/2,a/3"},
		{"a/", true, "", "a/3,a/2,a/1"},
		{"a/", true, "a/3", "a/2,a/1"},
		{"a/", false, "a/1", "a/2,a/3"},
		{"b/", true, "", "b/1"},
		{"c/", true, "", "c/1"},
		{"d/", true, "", ""},
		{"", false, "", "a/1,a/2,a/3,b/1,c/1"},
	}
	for _, c := range cases {
		if got := collect(c.prefix, c.reverse, c.after); got != c.want {
			t.Errorf("Scan(%q, reverse=%v, after=%q) = %s, want %s", c.prefix, c.reverse, c.after, got, c.want)
		}
	}
}
