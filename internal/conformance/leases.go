package conformance

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/credits"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// TestLeases checks an engine shared by several nodes (credits.Leaser):
// nodes (ledgers with their own node names, over one handle: the engine
// must not rely on a node having a connection of its own) spend one
// balance through leases. Engines of one node skip it.
func TestLeases(t *testing.T, f Factory) {
	db, _ := f(t)
	if _, ok := db.(credits.Leaser); !ok {
		t.Skip("a single-node engine: no leases")
	}
	for _, tc := range []struct {
		nodes, requests, affordable, atLeast int
	}{
		{nodes: 1, requests: 300, affordable: 200, atLeast: 200},
		{nodes: 3, requests: 1000, affordable: 500, atLeast: 490},
	} {
		t.Run(fmt.Sprintf("%d nodes", tc.nodes), func(t *testing.T) { testSharedBalance(t, f, tc.nodes, tc.requests, tc.affordable, tc.atLeast) })
	}
}

// testSharedBalance: concurrent requests spread over the nodes, against a
// balance that pays for exactly affordable of them: no more are served
// and at most atLeast fewer (leases strand little), the ledger sums to
// the balance, and once the nodes close nothing is leased or held.
func testSharedBalance(t *testing.T, f Factory, nodes, requests, affordable, atLeast int) {
	const price = money.USD / 100
	db, _ := f(t)
	var ledgers []*credits.Ledger
	for i := range nodes {
		l := must(credits.OpenLeased(credits.LeaseConfig{Store: db.(credits.Leaser), Node: fmt.Sprintf("node-%d", i)}, credits.Config{}, nil))(t)
		ledgers = append(ledgers, l)
	}
	must(ledgers[0].Purchase("acct", money.Nano(affordable)*price, "", ""))(t)
	served := make([]bool, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			h, err := ledgers[i%nodes].Reserve("acct", price)
			var ie *credits.InsufficientError
			if errors.As(err, &ie) {
				return
			}
			if err == nil {
				_, err = h.Settle(credits.Settlement{RequestID: fmt.Sprintf("req_%d", i), Charges: []credits.Charge{{Type: credits.Usage, Amount: price}}})
			}
			if err != nil {
				t.Error(err)
				return
			}
			served[i] = true
		})
	}
	wg.Wait()
	n := 0
	for _, ok := range served {
		if ok {
			n++
		}
	}
	if n > affordable || n < atLeast {
		t.Fatalf("%d of %d requests served with a balance for %d", n, requests, affordable)
	}
	for _, l := range ledgers {
		l.Close()
	}
	verify(t, ledgers[0])
	wantBalance(t, ledgers[nodes-1], "acct", money.Nano(affordable-n)*price, 0)
}
