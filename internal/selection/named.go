package selection

// Named strategies cover the common wishes without CEL. Each orders all the
// candidates (it never drops one), so a named strategy wins whenever there
// is at least one candidate; put it last in a list as the fallback order.
const (
	// Cheapest orders by input + output price per 1M tokens, lowest first;
	// unpriced models last, in their given order.
	Cheapest = "cheapest"
	// Fastest orders by average latency, or by average time to first token
	// for a streaming request, lowest first; models without data for that
	// measure last, in their given order.
	Fastest = "fastest"
	// MostReliable orders the models with data (request_count > 0) by error
	// rate, lowest first, ties broken by lower average latency; models
	// without data follow in their given order: an untried model is not
	// assumed better than one with a record, and failover still reaches it.
	MostReliable = "most_reliable"
)

type namedStrategy uint8

const (
	notNamed namedStrategy = iota
	cheapest
	fastest
	mostReliable
)

var namedStrategies = map[string]namedStrategy{
	Cheapest:     cheapest,
	Fastest:      fastest,
	MostReliable: mostReliable,
}

// order returns the candidates' positions in the strategy's order.
func (n namedStrategy) order(cands []Candidate, req *Request) []int {
	ranks := make([]rank, len(cands))
	for i := range cands {
		c := &cands[i]
		r := rank{pos: i}
		switch n {
		case cheapest:
			r.k, r.known = priceKey(c)
		case fastest:
			if req.Stream {
				r.k, r.known = ttftKey(c)
			} else {
				r.k, r.known = latencyKey(c)
			}
		case mostReliable:
			r.k, r.known = errorRateKey(c)
			r.k2 = secondary(latencyKey(c))
		}
		ranks[i] = r
	}
	sortRanks(ranks)
	order := make([]int, len(ranks))
	for i, r := range ranks {
		order[i] = r.pos
	}
	return order
}
