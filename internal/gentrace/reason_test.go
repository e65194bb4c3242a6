package gentrace

import "testing"

func TestFailoverReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		e    Ending
		want string
	}{
		{"served whole", Ending{Served: true, Status: 200}, ""},
		{"429", Ending{Failed: true, Status: 429, Refused: true}, ReasonRateLimited},
		{"401", Ending{Failed: true, Status: 401, Refused: true}, ReasonKeyRefused},
		{"403", Ending{Failed: true, Status: 403, Refused: true}, ReasonKeyRefused},
		{"503", Ending{Failed: true, Status: 503, Refused: true}, ReasonProviderError},
		{"408", Ending{Failed: true, Status: 408, Refused: true}, ReasonProviderError},
		{"400", Ending{Failed: true, Status: 400, Refused: true}, ReasonRequestRejected},
		{"no answer", Ending{Failed: true}, ReasonConnection},
		{"cut: timeout", Ending{Failed: true, Cut: ReasonTimeout}, ReasonTimeout},
		{"cut wins over served", Ending{Served: true, Failed: true, Status: 200, Cut: ReasonStalled}, ReasonStalled},
		{"cut wins over client gone", Ending{ClientGone: true, Failed: true, Status: 200, Cut: ReasonShutdown}, ReasonShutdown},
		{"stream error", Ending{Failed: true, Status: 502, StreamError: true}, ReasonStreamError},
		{"interrupted", Ending{Served: true, Failed: true, Status: 200}, ReasonInterrupted},
		{"bad response", Ending{Failed: true, Status: 502}, ReasonBadResponse},
		{"client gone", Ending{ClientGone: true, Failed: true, Status: 200}, ReasonClientClosed},
	} {
		if got := FailoverReason(tc.e); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
