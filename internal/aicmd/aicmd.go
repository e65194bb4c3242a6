// Package aicmd adds `caddy ai`, the gateway's operator commands, to the
// caddy binary: `caddy ai migrate` moves a single node's bbolt state to
// PostgreSQL. Each subcommand is one file; subcommands lists them.
package aicmd

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// subcommands build the subcommands of `caddy ai`.
var subcommands = []func() *cobra.Command{
	migrateCommand,
}

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "ai",
		Usage: "<command> [flags]",
		Short: "Operator commands of the AI gateway",
		Long: `
Operator commands of the AI gateway (caddy-ai-gateway).

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
