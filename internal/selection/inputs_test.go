package selection

import (
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestHeaderMap(t *testing.T) {
	h := http.Header{
		"X-Team":              {"ml"},
		"Accept":              {"a", "b"},
		"Authorization":       {"Bearer cag_secret"},
		"Proxy-Authorization": {"Basic x"},
		"Cookie":              {"session=1"},
		"X-Api-Key":           {"sk-ant-secret"},
		"X-Goog-Api-Key":      {"goog-secret"},
		"Api-Key":             {"azure-secret"},
		"x-api-key":           {"non-canonical-secret"},
		"Empty":               {},
	}
	want := map[string]string{"x-team": "ml", "accept": "a, b"}
	if got := HeaderMap(h); !maps.Equal(got, want) {
		t.Fatalf("HeaderMap = %v, want %v", got, want)
	}
}

func TestMetadataMap(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want map[string]string
	}{
		{``, nil},
		{`plain text`, nil},
		{`["a"]`, nil},
		{`{"team": "ml", broken`, nil},
		{` {"team":"ml","tier":1,"beta":true,"tags":["a", "b"],"gone":null,"o":{"x": 1}} `,
			map[string]string{"team": "ml", "tier": "1", "beta": "true", "tags": `["a","b"]`, "o": `{"x":1}`}},
		{`{}`, map[string]string{}},
	} {
		if got := MetadataMap(tc.raw); !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("MetadataMap(%q) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// TestLazyInputs: req.headers, ai.keys and key.metadata from the raw
// inputs the gateway passes (the client's http.Header, a provider key
// function, the access key's metadata string), built only when read.
func TestLazyInputs(t *testing.T) {
	hdr := http.Header{"X-Team": {"ml"}, "Authorization": {"Bearer cag_secret"}, "X-Api-Key": {"secret"}}
	var keyCalls atomic.Int32
	keysFunc := func() []ProviderKey {
		keyCalls.Add(1)
		return []ProviderKey{{ProviderID: "openai", Source: "managed"}, {ID: "pk_1", ProviderID: "mistral", Source: "user"}}
	}
	req := Request{HTTPHeader: hdr, ProviderKeysFunc: keysFunc}
	key := Key{ID: "ak_1", RawMetadata: `{"team":"ml","tier":2}`}
	for _, tc := range []struct {
		src       string
		want      []string
		keysCalls int32
	}{
		{src: `req.headers["x-team"] == "ml" ? ai.models.onlyProviders("anthropic") : []`, want: []string{"anthropic:claude-sonnet"}},
		{src: `"authorization" in req.headers || "x-api-key" in req.headers ? ai.models : []`},
		{src: `req.headers.size() == 1 ? ai.models.onlyProviders("ollama") : []`, want: []string{"ollama:llama3:8b"}},
		{src: `key.metadata.team == "ml" && key.metadata.tier == "2" ? ai.models.onlyProviders("mistral") : []`, want: []string{"mistral:mistral-small"}},
		// ai.keys is read once per model here, but built once.
		{src: `ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id && k.source == "user"))`,
			want: []string{"mistral:mistral-small"}, keysCalls: 1},
		{src: `ai.keys.exists(k, k.id == "pk_1") ? ai.models.onlyProviders("anthropic") : []`, want: []string{"anthropic:claude-sonnet"}, keysCalls: 1},
		{src: `cheapest`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			keyCalls.Store(0)
			got, winner, err := Select(mustCompile(t, tc.src), fixture(t), req, key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && (winner != 0 || !slices.Equal(names(got), tc.want)) {
				t.Fatalf("winner %d, got %v, want %v", winner, names(got), tc.want)
			}
			if tc.want == nil && tc.src != "cheapest" && winner != -1 {
				t.Fatalf("winner %d, got %v, want none", winner, names(got))
			}
			if n := keyCalls.Load(); n != tc.keysCalls {
				t.Fatalf("ProviderKeysFunc called %d times, want %d", n, tc.keysCalls)
			}
		})
	}
	// Select works on copies: the caller's inputs stay as they were.
	if req.Headers != nil || req.ProviderKeys != nil || key.Metadata != nil {
		t.Fatal("Select changed the caller's Request or Key")
	}
}

// TestSelectSharedInputsConcurrent: candidates, headers, provider keys and
// metadata shared by concurrent Selects are only read (run with -race),
// and the candidate slice keeps its order: sortBy, randomize and the named
// strategies work on copies.
func TestSelectSharedInputsConcurrent(t *testing.T) {
	strategies := mustCompile(t,
		`req.headers["x-team"] == "none" ? ai.models : []`,
		`ai.models.filter(m, ai.keys.exists(k, k.provider_id == m.provider_id) && key.metadata.team == "ml").randomize().sortBy("price")`,
	)
	named := mustCompile(t, Cheapest, Fastest, MostReliable)
	shared := many(50)
	before := slices.Clone(shared)
	hdr := http.Header{"X-Team": {"ml"}, "Authorization": {"Bearer x"}}
	keys := []ProviderKey{{ProviderID: "openai", Source: "managed"}, {ID: "pk", ProviderID: "groq", Source: "user"}}
	meta := map[string]string{"team": "ml"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				req := Request{HTTPHeader: hdr, ProviderKeys: keys, Stream: i%2 == 0}
				s := strategies
				if g%2 == 0 {
					s = named[i%3 : i%3+1]
				}
				got, _, err := Select(s, shared, req, Key{Metadata: meta})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					t.Error("no result")
					return
				}
			}
		})
	}
	wg.Wait()
	if !reflect.DeepEqual(shared, before) {
		t.Fatal("Select changed the shared candidate slice")
	}
	if len(hdr) != 2 || len(keys) != 2 || len(meta) != 1 {
		t.Fatal("Select changed shared inputs")
	}
}
