package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

var pathParam = regexp.MustCompile(`\{[^/{}]+\}`)

// normalisePath drops parameter names: /ai/usage/requests/{requestId} and
// /ai/usage/requests/{id} are the same route.
func normalisePath(p string) string { return pathParam.ReplaceAllString(p, "{}") }

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

func TestOpenAPIVersion(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	for _, k := range []string{"info", "paths", "components"} {
		if _, ok := doc[k].(map[string]any); !ok {
			t.Errorf("openapi.json has no %q object", k)
		}
	}
}

// TestOpenAPICoversRoutes: every registered route is documented and every
// documented operation is a registered route.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)

	registered := map[string]bool{}
	for _, p := range patterns {
		registered[normalisePath(p)] = true
	}
	documented := map[string]string{} // normalised → as written in the document
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range openAPIMethods {
			if _, ok := ops[m]; ok {
				documented[strings.ToUpper(m)+" "+normalisePath(p)] = strings.ToUpper(m) + " " + p
			}
		}
	}

	var undocumented, unregistered []string
	for _, p := range patterns {
		if _, ok := documented[normalisePath(p)]; !ok {
			undocumented = append(undocumented, p)
		}
	}
	for k, asWritten := range documented {
		if !registered[k] {
			unregistered = append(unregistered, asWritten)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unregistered)
	if len(undocumented) > 0 {
		t.Errorf("registered routes missing from openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unregistered) > 0 {
		t.Errorf("openapi.json documents operations that are not registered routes:\n  %s", strings.Join(unregistered, "\n  "))
	}
}

// TestOpenAPIPathParameters: each {name} of a documented path is declared
// as a required path parameter of each of its operations, and nothing else is.
func TestOpenAPIPathParameters(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		want := map[string]bool{}
		for _, m := range pathParam.FindAllString(p, -1) {
			want[strings.Trim(m, "{}")] = true
		}
		ops, _ := item.(map[string]any)
		for _, m := range openAPIMethods {
			o, ok := ops[m].(map[string]any)
			if !ok {
				continue
			}
			got := map[string]bool{}
			params, _ := o["parameters"].([]any)
			for _, raw := range params {
				prm, _ := raw.(map[string]any)
				if r, ok := prm["$ref"].(string); ok {
					prm, _ = resolvePointer(doc, r).(map[string]any)
				}
				if prm["in"] == "path" {
					got[fmt.Sprint(prm["name"])] = true
					if prm["required"] != true {
						t.Errorf("%s %s: path parameter %v is not required", strings.ToUpper(m), p, prm["name"])
					}
				}
			}
			for name := range want {
				if !got[name] {
					t.Errorf("%s %s: path parameter %q is not declared", strings.ToUpper(m), p, name)
				}
			}
			for name := range got {
				if !want[name] {
					t.Errorf("%s %s: declares path parameter %q that is not in the path", strings.ToUpper(m), p, name)
				}
			}
		}
	}
}

// TestOpenAPIRefsResolve: every $ref points into components and resolves.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(at string, v any)
	n := 0
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				n++
				if !strings.HasPrefix(r, "#/components/") {
					t.Errorf("%s: $ref %q does not point into #/components/", at, r)
				} else if resolvePointer(doc, r) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, r)
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(at+"/"+strconv.Itoa(i), x)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Fatal("no $ref found: the walk is broken")
	}
}

// resolvePointer follows a local JSON pointer ("#/a/b"); nil if absent.
func resolvePointer(doc any, ref string) any {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

func TestServeOpenAPI(t *testing.T) {
	w := httptest.NewRecorder()
	if err := dispatch(nil, w, httptest.NewRequest(http.MethodGet, "/ai/openapi.json", nil)); err != nil {
		t.Fatal(err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if w.Code != http.StatusOK || w.Body.String() != string(openAPI) {
		t.Errorf("status %d, body of %d bytes (want the %d-byte document)", w.Code, w.Body.Len(), len(openAPI))
	}
}
