package manage

import (
	"errors"
	"testing"
	"time"
)

func TestPatchSemantics(t *testing.T) {
	type rec struct {
		Name    string
		Expires *time.Time
		Allow   *[]string
	}
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	allow := []string{"a"}
	cases := []struct {
		name    string
		body    string
		want    rec
		errWith string
	}{
		{"omitted keeps", `{}`, rec{Name: "n", Expires: &exp, Allow: &allow}, ""},
		{"null clears", `{"name":null,"expires":null,"allow":null}`, rec{}, ""},
		{"set", `{"name":"m","allow":[]}`, rec{Name: "m", Expires: &exp, Allow: &[]string{}}, ""},
		{"wrong type names field", `{"name":5}`, rec{}, "name"},
		{"unknown field", `{"nmae":"x"}`, rec{}, "nmae"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rec{Name: "n", Expires: &exp, Allow: &allow}
			p, err := ParsePatch([]byte(c.body))
			if err == nil {
				err = errors.Join(Field(p, "name", &r.Name), Field(p, "expires", &r.Expires), Field(p, "allow", &r.Allow), p.Done())
			}
			if c.errWith != "" {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.Field != c.errWith {
					t.Fatalf("error %v, want one naming %s", err, c.errWith)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != c.want.Name || (r.Expires == nil) != (c.want.Expires == nil) || (r.Allow == nil) != (c.want.Allow == nil) ||
				(r.Allow != nil && len(*r.Allow) != len(*c.want.Allow)) {
				t.Fatalf("got %+v want %+v", r, c.want)
			}
		})
	}
}
