package store

import (
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	db := openTemp(t)
	if err := db.EnsureBuckets("b"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a/1", "a/2", "a/3", "b/1", "c/1"}
	_ = db.Update(func(tx *Tx) error {
		for _, k := range keys {
			if err := tx.PutRaw("b", k, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	collect := func(prefix string, reverse bool, after string) string {
		var got []string
		_ = db.View(func(tx *Tx) error {
			return tx.Scan("b", prefix, reverse, after, func(k string, _ []byte) bool { got = append(got, k); return true })
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
