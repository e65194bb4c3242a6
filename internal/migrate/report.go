package migrate

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Write prints the report: a table of what each side holds (the lines
// that are zero on both sides left out), the secret-key check value, the
// ledger's sums and the time taken. verified says whether the
// verification passed.
func (r *Report) Write(w io.Writer, verified bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tsource\ttarget")
	for _, row := range rows() {
		if row.value(&r.Source) == 0 && row.value(&r.Target) == 0 {
			continue
		}
		mark := ""
		if row.value(&r.Source) != row.value(&r.Target) {
			mark = " ≠"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", row.name, row.format(&r.Source), row.format(&r.Target), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "secret-key check value: %s\n", r.SecretCheck)
	fmt.Fprintf(w, "ledger: %d accounts; entries sum to %s USD\n", r.Accounts, r.EntrySum)
	if verified {
		fmt.Fprintln(w, "verified: counts and sums equal, every account's entries sum to its balance, balances equal account by account")
	}
	fmt.Fprintf(w, "copied in %s, verified in %s\n", round(r.CopyTime), round(r.Elapsed-r.CopyTime))
	return nil
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}
