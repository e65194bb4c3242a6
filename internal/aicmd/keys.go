package aicmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// accessKeyView is an access key as /ai/access-keys shows it, the fields
// the tables print.
type accessKeyView struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	AccountID                string     `json:"accountId"`
	AccessKeyConfigurationID *string    `json:"accessKeyConfigurationId"`
	Disabled                 bool       `json:"disabled"`
	ExpiresAt                *time.Time `json:"expiresAt"`
	KeyRedacted              string     `json:"keyRedacted"`
	LastUsed                 *time.Time `json:"lastUsed"`
	CreatedAt                time.Time  `json:"createdAt"`
	Token                    string     `json:"token"`
}

// status is whether the gateway takes the key now.
func (k *accessKeyView) status(at time.Time) string {
	switch {
	case k.Disabled:
		return "disabled"
	case k.ExpiresAt != nil && !at.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

func keysCommand() *cobra.Command {
	return groupCommand("keys <create|list|revoke>", "Creates, lists and revokes access keys (the keys clients send to the gateway)",
		keysCreateCommand(), keysListCommand(), keysRevokeCommand())
}

func keysCreateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create [--name <name>] [--account <id>] [--configuration <id>] [--expires <time|duration>]",
		Short: "Creates an access key and prints its token, once",
		Long: `
Creates an access key. Its token is printed alone on stdout, so
KEY=$(caddy ai keys create --name laptop) keeps it; the notes go to
stderr. The gateway keeps only a hash: the token is shown this once.

--expires takes an RFC 3339 time (2026-12-31T00:00:00Z) or a duration
from now (720h, 90d).
`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().String("name", "", "a name for the key")
	cmd.Flags().String("account", "", "the account whose credits the key spends (default: the default account)")
	cmd.Flags().String("configuration", "", "the access key configuration (allow lists, routing, limits) to apply")
	cmd.Flags().String("expires", "", "when the key stops working: an RFC 3339 time or a duration from now (720h, 90d)")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, _ []string) error {
		return keysCreate(ctx, s, fl.String("name"), fl.String("account"), fl.String("configuration"), fl.String("expires"))
	})
	return cmd
}

func keysCreate(ctx context.Context, s *session, name, account, configuration, expires string) error {
	body := map[string]any{}
	if name != "" {
		body["name"] = name
	}
	if account != "" {
		body["accountId"] = account
	}
	if configuration != "" {
		body["accessKeyConfigurationId"] = configuration
	}
	if expires != "" {
		at, err := parseWhen(expires, now(), +1)
		if err != nil {
			return fmt.Errorf("--expires: %w", err)
		}
		body["expiresAt"] = at.UTC().Format(time.RFC3339)
	}
	var k accessKeyView
	b, err := s.api.do(ctx, http.MethodPost, "/ai/access-keys", nil, body, &k)
	if err != nil {
		return fmt.Errorf("creating the access key: %w", err)
	}
	if s.json {
		return s.printJSON(b)
	}
	if k.Token == "" {
		return errors.New("creating the access key: the answer holds no token")
	}
	what := k.ID
	if k.Name != "" {
		what += fmt.Sprintf(" %q", cell(k.Name))
	}
	expiry := "never expires"
	if k.ExpiresAt != nil {
		expiry = "expires " + fmtTime(k.ExpiresAt) + " UTC"
	}
	fmt.Fprintf(s.info, "Created access key %s (account %s, %s).\n", what, k.AccountID, expiry)
	fmt.Fprintln(s.info, "Its token follows. It is shown only now and cannot be shown again: store it.")
	fmt.Fprintln(s.out, k.Token)
	fmt.Fprintln(s.info, "Clients send it as 'Authorization: Bearer <token>' or 'x-api-key: <token>'.")
	return nil
}

func keysListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [--limit <n>] [--all]",
		Short: "Lists access keys, newest first",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().Int("limit", 50, "show at most this many keys")
	cmd.Flags().Bool("all", false, "show every key (reads page after page)")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, _ []string) error {
		limit, err := listLimit(fl)
		if err != nil {
			return err
		}
		return keysList(ctx, s, limit)
	})
	return cmd
}

// listLimit reads --limit and --all: how many items to read, 0 for all.
func listLimit(fl caddycmd.Flags) (int, error) {
	if fl.Bool("all") {
		return 0, nil
	}
	n := fl.Int("limit")
	if n < 1 {
		return 0, errors.New("--limit: must be at least 1 (or use --all)")
	}
	return n, nil
}

func keysList(ctx context.Context, s *session, limit int) error {
	items, next, err := s.api.list(ctx, "/ai/access-keys", "accessKeys", limit)
	if err != nil {
		return fmt.Errorf("listing access keys: %w", err)
	}
	if s.json {
		b, err := listJSON("accessKeys", "/ai/access-keys", items, next)
		if err != nil {
			return err
		}
		return s.printJSON(b)
	}
	keys, err := decodeItems[accessKeyView](items)
	if err != nil {
		return fmt.Errorf("listing access keys: %w", err)
	}
	t := keysTable(keys, now())
	if err := t.write(s.out); err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(s.info, "No access keys yet: caddy ai keys create --name <name>")
	}
	if next != nil {
		fmt.Fprintln(s.info, "Older keys exist: --limit <n> or --all to see them.")
	}
	return nil
}

func keysTable(keys []accessKeyView, at time.Time) *table {
	t := newTable("ID", "NAME", "KEY", "ACCOUNT", "CONFIGURATION", "STATUS", "EXPIRES (UTC)", "LAST USED (UTC)", "CREATED (UTC)")
	for _, k := range keys {
		conf := ""
		if k.AccessKeyConfigurationID != nil {
			conf = *k.AccessKeyConfigurationID
		}
		t.add(k.ID, k.Name, k.KeyRedacted, k.AccountID, conf, k.status(at), fmtTime(k.ExpiresAt), fmtTime(k.LastUsed), fmtTime(&k.CreatedAt))
	}
	return t
}

func keysRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke <id> [--delete]",
		Short: "Revokes an access key: the gateway refuses it from the next request",
		Long: `
Revokes an access key: it is disabled (PATCH {"disabled": true}) and the
gateway answers 401 to it from the next request, on every node. The key
stays listed, with its usage, and can be enabled again through the API.

--delete deletes the key instead; that cannot be undone.
`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().Bool("delete", false, "delete the key instead of disabling it")
	apiCommand(cmd, func(ctx context.Context, s *session, fl caddycmd.Flags, args []string) error {
		return keysRevoke(ctx, s, args[0], fl.Bool("delete"))
	})
	return cmd
}

func keysRevoke(ctx context.Context, s *session, id string, del bool) error {
	if id == "" {
		return errors.New("an access key id is required")
	}
	path := "/ai/access-keys/" + url.PathEscape(id)
	if del {
		if _, err := s.api.do(ctx, http.MethodDelete, path, nil, nil, nil); err != nil {
			return fmt.Errorf("deleting access key %s: %w", id, err)
		}
		if s.json {
			b, err := json.Marshal(map[string]any{"id": id, "deleted": true})
			if err != nil {
				return err
			}
			return s.printJSON(b)
		}
		fmt.Fprintf(s.out, "Deleted access key %s: the gateway refuses it from the next request.\n", id)
		return nil
	}
	var k accessKeyView
	b, err := s.api.do(ctx, http.MethodPatch, path, nil, map[string]any{"disabled": true}, &k)
	if err != nil {
		return fmt.Errorf("revoking access key %s: %w", id, err)
	}
	if s.json {
		return s.printJSON(b)
	}
	what := k.ID
	if k.Name != "" {
		what += fmt.Sprintf(" %q", cell(k.Name))
	}
	fmt.Fprintf(s.out, "Revoked access key %s: it is disabled, and the gateway refuses it from the next request.\n", what)
	return nil
}
