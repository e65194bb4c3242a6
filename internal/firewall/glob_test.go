package firewall

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"delete_file", "delete_file", true},
		{"delete_file", "delete_files", false},
		{"delete_file", "Delete_file", false}, // case-sensitive
		{"delete_*", "delete_file", true},
		{"delete_*", "delete_", true},
		{"delete_*", "undelete_file", false},
		{"*_file", "read_file", true},
		{"*_file", "read_files", false},
		{"*delete*", "soft_delete_all", true},
		{"*delete*", "remove", false},
		{"*", "", true},
		{"*", "anything", true},
		{"mcp__payments__*", "mcp__payments__refund", true},
		{"mcp__payments__*", "mcp__pay__refund", false},
		{"mcp__*__delete", "mcp__github__delete", true},
		{"mcp__*__delete", "mcp__github__delete_repo", false},
		{"mcp__*__delete*", "mcp__a__b__delete_x", true},
		{"get_?", "get_a", true},
		{"get_?", "get_", false},
		{"get_?", "get_ab", false},
		{"get_?", "get_é", true}, // one character, not one byte
		{"get_[abc]", "get_b", true},
		{"get_[abc]", "get_d", false},
		{"get_[a-z]*", "get_weather", true},
		{"get_[a-z]*", "get_Weather", false},
		{"get_[!a-z]*", "get_Weather", true},
		{"get_[^a-z]*", "get_weather", false},
		{"[]x]", "]", true},
		{"[]x]", "x", true},
		{"a\\*b", "a*b", true},
		{"a\\*b", "axb", false},
		{"a\\?", "a?", true},
		{"a\\[b", "a[b", true},
		{"a\\\\", "a\\", true},
		{"**", "x", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*a?", "bab", true},
		{"*a?", "ba", false},
		{"?*", "", false},
		{"[a-c]?[x-z]", "b1y", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.glob)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.glob, err)
		}
		if got := g.match(tt.name); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
}

func TestGlobInvalid(t *testing.T) {
	for _, p := range []string{"", "a\\", "[abc", "x[z-a]", "[a-", "[\\"} {
		if _, err := compileGlob(p); err == nil {
			t.Errorf("compileGlob(%q) succeeded", p)
		}
	}
}

// A pathological glob against a long name stays linear-ish (the single
// backtrack point), not exponential.
func TestGlobNoBlowup(t *testing.T) {
	g, err := compileGlob(strings.Repeat("a*", 20) + "b")
	if err != nil {
		t.Fatal(err)
	}
	if g.match(strings.Repeat("a", 200)) {
		t.Fatal("matched without b")
	}
}
