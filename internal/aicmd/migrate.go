package aicmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/migrate"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/secrets"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/boltstore"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store/pgstore"
)

// envDatabaseURL is where --to defaults from, so the URL's password need
// not be on the command line.
const envDatabaseURL = "AI_GATEWAY_DATABASE_URL"

// openTimeout bounds connecting to (and migrating the schema of) the
// target.
const openTimeout = 30 * time.Second

func migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate --from <bbolt file> --to <postgres url> [--force] [--secret-key-file <path>]",
		Short: "Moves a single node's state from its bbolt file to PostgreSQL, verified",
		Long: `
Copies everything a gateway keeps in its bbolt file (storage <path>) to a
PostgreSQL database (storage postgres <url>), so the same gateway can run
on many nodes: every management resource (access keys with their token
hashes, sealed provider keys, configurations, custom providers, virtual
models, API keys, the gateway config), every credit account, lot (open
and exhausted), ledger entry, idempotent purchase and settled mark, every
usage event, and the secret key's check value.

Stop the gateway first: the bbolt file is locked while Caddy has it open.
The target's schema is created or brought up to date as a gateway does at
start. The copy runs in batches of 1000 records, one transaction each.

Then it verifies: the counts of every table and the sums of balances,
lots and usage are equal on both sides, every account's ledger entries
sum to its balance on the target, and the balances are equal account by
account. It prints a report; the exit status is 0 only when the copy
verified.

--to defaults to $AI_GATEWAY_DATABASE_URL.

A target that holds any record (resource, credit account, lot, entry,
purchase, settled mark, usage event, lease) is refused unless --force:
use --force to run again after a failed or interrupted copy (records with
the same keys are replaced, usage events are not duplicated).

Provider keys are copied sealed: configure every PostgreSQL node with the
secret_key the bbolt gateway used (its secret_key option, or the file
beside its database, <bbolt file>.key). A target initialised
with another secret key is refused; one initialised with the same key
(a gateway started on it) differs in its check value: prove the key is
the same with --secret-key-file.
`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().String("from", "", "the bbolt file of the stopped gateway (required)")
	cmd.Flags().String("to", "", "the PostgreSQL database's URL (default $"+envDatabaseURL+")")
	cmd.Flags().Bool("force", false, "copy into a target that holds records (replacing those with the same keys)")
	cmd.Flags().String("secret-key-file", "", "a file holding the gateway's secret_key, to accept a target initialised with the same key")
	cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdMigrate)
	return cmd
}

func cmdMigrate(fl caddycmd.Flags) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	to := fl.String("to")
	if to == "" {
		to = os.Getenv(envDatabaseURL)
	}
	err := runMigrate(ctx, os.Stdout, os.Stderr, fl.String("from"), to, fl.String("secret-key-file"), fl.Bool("force"))
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// runMigrate moves the bbolt file from to the database to and prints the
// report on out, progress on log.
func runMigrate(ctx context.Context, out, log io.Writer, from, to, keyFile string, force bool) error {
	if from == "" {
		return errors.New("--from <bbolt file> is required")
	}
	if to == "" {
		return fmt.Errorf("--to <postgres url> is required (or set %s)", envDatabaseURL)
	}
	opt := migrate.Options{Force: force, Progress: func(table string, n int64, took time.Duration) {
		fmt.Fprintf(log, "copied %d %s in %s\n", n, table, took.Round(time.Millisecond))
	}}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("reading the secret key: %w", err)
		}
		key, err := secrets.ParseKey(string(b))
		if err != nil {
			return fmt.Errorf("reading the secret key from %s: %w", keyFile, err)
		}
		opt.Key = &key
	}

	// boltstore.Open creates a missing file: a mistyped path must not
	// migrate an empty store.
	if fi, err := os.Stat(from); err != nil {
		return fmt.Errorf("the source: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("the source %s is not a bbolt file", from)
	}
	src, err := boltstore.Open(from)
	if err != nil {
		if strings.Contains(err.Error(), "locked by another process") {
			return fmt.Errorf("%w: stop the gateway first", err)
		}
		return err
	}
	defer src.Close()

	octx, cancel := context.WithTimeout(ctx, openTimeout)
	dst, err := pgstore.Open(octx, to)
	cancel()
	if err != nil {
		return err
	}
	defer dst.Close()

	fmt.Fprintf(log, "migrating %s to %s\n", from, redact(to))
	rep, err := migrate.Run(ctx, src, dst, opt)
	var nee *migrate.NotEmptyError
	var ve *migrate.VerifyError
	var ce *migrate.CopyError
	switch {
	case errors.As(err, &nee):
		return fmt.Errorf("%w; nothing was copied (run again with --force to copy over it, replacing records with the same keys)", err)
	case errors.Is(err, migrate.ErrOtherSecretKey):
		return fmt.Errorf("%w; nothing was copied (if the target was initialised with the same secret_key, give it with --secret-key-file)", err)
	case errors.As(err, &ve):
		_ = rep.Write(out, false)
		return err
	case errors.As(err, &ce):
		return fmt.Errorf("%w; the target holds part of the source: run again with --force to finish the copy", err)
	case err != nil:
		return err
	}
	return rep.Write(out, true)
}

// redact names a database URL without its password.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the PostgreSQL database"
}
