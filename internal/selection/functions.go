package selection

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// The member functions on list(selection.Model). Each returns a new list and
// never adds a model: they filter or reorder what they are given.

// onlyProviders keeps the models whose provider is one of the given ids
// (case-insensitive): `ai.models.onlyProviders(["openai", "anthropic"])` or
// `ai.models.onlyProviders("openai")`.
func onlyProviders(list, providers ref.Val) ref.Val { return byProvider(list, providers, true) }

// ignoreProviders drops the models whose provider is one of the given ids.
func ignoreProviders(list, providers ref.Val) ref.Val { return byProvider(list, providers, false) }

func byProvider(list, providers ref.Val, keep bool) ref.Val {
	ms, errVal := modelsOf(list)
	if errVal != nil {
		return errVal
	}
	ids, errVal := stringsOf(providers)
	if errVal != nil {
		return errVal
	}
	out := make([]ref.Val, 0, len(ms))
	for _, m := range ms {
		listed := false
		for _, id := range ids {
			if strings.EqualFold(m.c.ProviderID, id) {
				listed = true
				break
			}
		}
		if listed == keep {
			out = append(out, m)
		}
	}
	return types.NewRefValList(adapter, out)
}

// underCost keeps the priced models whose blended price, the mean of the
// input and output prices in USD per 1M tokens, is at most x:
// `ai.models.underCost(1.0)` is
// `ai.models.filter(m, has(m.pricing) && (m.pricing.input + m.pricing.output) / 2.0 <= 1.0)`.
// The mean is what "a model under $1 per million tokens" means for a
// conversation with as much output as input; it orders models exactly as
// sortBy("price") and the cheapest strategy do. A model of unknown price is
// never under any cost.
func underCost(list, limit ref.Val) ref.Val {
	ms, errVal := modelsOf(list)
	if errVal != nil {
		return errVal
	}
	var x float64
	switch v := limit.(type) {
	case types.Double:
		x = float64(v)
	case types.Int:
		x = float64(v)
	default:
		return types.NewErr("underCost: want a number of USD per 1M tokens, got %s", limit.Type().TypeName())
	}
	out := make([]ref.Val, 0, len(ms))
	for _, m := range ms {
		if m.c.Priced && usd(int64(m.c.InputPrice+m.c.OutputPrice))/2 <= x {
			out = append(out, m)
		}
	}
	return types.NewRefValList(adapter, out)
}

// sortKeys are the keys sortBy accepts. Each sorts ascending; models whose
// value is unknown go last in the order they came in, and ties keep their
// order (the sort is stable). Unknown means unpriced for "price", and for
// "latency" and "ttft" no data (request_count 0) or a measure of 0, such as
// the ttft of a model that has served only non-streaming requests.
var sortKeys = map[string]func(*Candidate) (float64, bool){
	"price":   priceKey,   // input + output price per 1M tokens
	"latency": latencyKey, // average total latency
	"ttft":    ttftKey,    // average time to first token
}

const sortKeyNames = `"price", "latency" or "ttft"`

func sortBy(list, key ref.Val) ref.Val {
	ms, errVal := modelsOf(list)
	if errVal != nil {
		return errVal
	}
	k, ok := key.(types.String)
	if !ok {
		return types.NewErr("sortBy: want a string key, got %s", key.Type().TypeName())
	}
	keyOf, ok := sortKeys[string(k)]
	if !ok {
		return types.NewErr("sortBy: unknown key %q (want %s)", string(k), sortKeyNames)
	}
	ranks := make([]rank, len(ms))
	for i, m := range ms {
		ranks[i] = rank{pos: i}
		ranks[i].k, ranks[i].known = keyOf(m.c)
	}
	sortRanks(ranks)
	out := make([]ref.Val, len(ms))
	for i, r := range ranks {
		out[i] = ms[r.pos]
	}
	return types.NewRefValList(adapter, out)
}

// randomize shuffles the models, e.g. to spread load over equals:
// `ai.models.onlyProviders(["openai", "azure"]).randomize()`.
func randomize(list ref.Val) ref.Val {
	ms, errVal := modelsOf(list)
	if errVal != nil {
		return errVal
	}
	out := make([]ref.Val, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return types.NewRefValList(adapter, out)
}

// modelsOf unpacks a list(selection.Model). The checker guarantees the list
// type; the element check guards a list(dyn) that reached the function.
func modelsOf(v ref.Val) ([]*modelVal, ref.Val) {
	l, ok := v.(traits.Lister)
	if !ok {
		return nil, types.NewErr("want a list of models, got %s", v.Type().TypeName())
	}
	n, _ := l.Size().(types.Int)
	ms := make([]*modelVal, n)
	for i := range ms {
		e := l.Get(types.Int(i))
		m, ok := e.(*modelVal)
		if !ok {
			if types.IsError(e) {
				return nil, e
			}
			return nil, types.NewErr("want a list of models, found a %s in it", e.Type().TypeName())
		}
		ms[i] = m
	}
	return ms, nil
}

// stringsOf unpacks a string or a list(string).
func stringsOf(v ref.Val) ([]string, ref.Val) {
	if s, ok := v.(types.String); ok {
		return []string{string(s)}, nil
	}
	l, ok := v.(traits.Lister)
	if !ok {
		return nil, types.NewErr("want a provider id or a list of them, got %s", v.Type().TypeName())
	}
	n, _ := l.Size().(types.Int)
	out := make([]string, n)
	for i := range out {
		s, ok := l.Get(types.Int(i)).(types.String)
		if !ok {
			return nil, types.NewErr("want a list of provider ids, found a non-string in it")
		}
		out[i] = string(s)
	}
	return out, nil
}

// Sort keys shared by sortBy and the named strategies. The bool reports
// whether the value is known.

func priceKey(c *Candidate) (float64, bool) {
	return float64(c.InputPrice + c.OutputPrice), c.Priced
}

func latencyKey(c *Candidate) (float64, bool) {
	return c.Metrics.LatencyMsAvg, c.Metrics.RequestCount > 0 && c.Metrics.LatencyMsAvg > 0
}

// ttftKey is unknown for a model that has served only non-streaming
// requests, where no first-token time was measured.
func ttftKey(c *Candidate) (float64, bool) {
	return c.Metrics.TTFTMsAvg, c.Metrics.RequestCount > 0 && c.Metrics.TTFTMsAvg > 0
}

func errorRateKey(c *Candidate) (float64, bool) {
	return c.Metrics.ErrorRate, c.Metrics.RequestCount > 0
}

// rank is one model's place in a sort: known keys first, ascending by k and
// then k2, unknown ones after them; pos (the original position) breaks
// ties, which makes the sort stable.
type rank struct {
	pos   int
	known bool
	k, k2 float64
}

func sortRanks(r []rank) {
	slices.SortFunc(r, func(a, b rank) int {
		if a.known != b.known {
			if a.known {
				return -1
			}
			return 1
		}
		if a.known {
			if c := cmp.Compare(a.k, b.k); c != 0 {
				return c
			}
			if c := cmp.Compare(a.k2, b.k2); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.pos, b.pos)
	})
}

// secondary returns a tie-break value: known values as they are, unknown
// ones after every known one.
func secondary(v float64, known bool) float64 {
	if !known {
		return math.Inf(1)
	}
	return v
}
