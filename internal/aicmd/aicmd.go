// Package aicmd adds `caddy ai`, the gateway's operator commands, to the
// caddy binary: `caddy ai keys|credits|usage` call a running gateway's
// management API on Caddy's admin endpoint (client.go), and `caddy ai
// migrate` moves a single node's bbolt state to PostgreSQL. Each
// subcommand is one file; subcommands lists them.
package aicmd

import (
	"fmt"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// subcommands build the subcommands of `caddy ai`.
var subcommands = []func() *cobra.Command{
	keysCommand,
	creditsCommand,
	usageCommand,
	migrateCommand,
}

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "ai",
		Usage: "<command> [flags]",
		Short: "Operator commands of the AI gateway",
		Long: `
Operator commands of the AI gateway (caddy-ai-gateway).

These call a running gateway's management API on Caddy's admin endpoint:

  caddy ai keys create [--name <name>] [--account <id>] [--configuration <id>] [--expires <time|duration>]
      creates an access key and prints its token, once
  caddy ai keys list [--limit <n>] [--all]
      lists access keys, newest first
  caddy ai keys revoke <id> [--delete]
      disables an access key (or deletes it): refused from the next request
  caddy ai credits buy <amount USD> [--account <id>]
      adds credits to an account
  caddy ai credits balance [--account <id>]
      the balance, the part held by requests in flight, what is available
  caddy ai credits transactions [--account <id>] [--limit <n>] [--all]
      the account's ledger, newest first
  caddy ai usage [--since 24h] [--until <time>] [--by model|provider|key|account] [--bucket day|hour]
      requests, tokens, cost and errors over a time range

  They take --address (the admin endpoint: host:port, http://host:port or
  unix//path; default $CADDY_ADMIN, else localhost:2019), --key (the
  management API key; default $AI_GATEWAY_ADMIN_KEY) and --json (print
  the API's JSON instead of a table). On an error they print one line on
  stderr and exit with status 1.

This one works on the files of a stopped gateway:

  caddy ai migrate --from <bbolt file> --to <postgres url>
      moves a single node's state to PostgreSQL, verified

Run 'caddy ai <command> --help' for a command's flags.
`,
		CobraFunc: func(cmd *cobra.Command) {
			for _, sub := range subcommands {
				cmd.AddCommand(sub())
			}
		},
	})
}

// groupCommand is a command that only holds subcommands (caddy ai keys):
// alone it prints its help; with an unknown subcommand it fails.
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q; run '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
