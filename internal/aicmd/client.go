package aicmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// envAdminKey is where --key defaults from, so the management key need
// not be on the command line (where ps shows it).
const envAdminKey = "AI_GATEWAY_ADMIN_KEY"

// requestTimeout bounds one call to the admin endpoint (a var for tests).
var requestTimeout = 30 * time.Second

// client calls the management API (admin.api.ai) on a running Caddy's
// admin endpoint, as Caddy's own commands (caddy reload, caddy stop) do:
// over TCP or a unix socket, with the management key as a bearer token.
type client struct {
	address string // as the operator gave it, for messages
	origin  string // scheme and host of the request URLs
	network string // how to dial: tcp, unix, …
	dial    string // the address to dial
	key     string
	http    *http.Client
}

// newClient checks the address and the key. The key appears in no
// message.
func newClient(address, key string) (*client, error) {
	if key == "" {
		return nil, fmt.Errorf("a management API key is required: set $%s or give --key", envAdminKey)
	}
	for _, r := range key {
		if r <= ' ' || r == 0x7f {
			return nil, errors.New("the management API key holds a space or a control character: check --key or $" + envAdminKey)
		}
	}
	c := &client{address: address, key: key}
	if err := c.parseAddress(address); err != nil {
		return nil, err
	}
	c.http = &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, c.network, c.dial)
			},
		},
		// the admin endpoint does not redirect; following one would carry
		// the key elsewhere
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// parseAddress reads an admin address in Caddy's forms (localhost:2019,
// unix//run/caddy-admin.sock, tcp/…) or as a URL (http://host:port).
func (c *client) parseAddress(address string) error {
	a := strings.TrimSpace(address)
	if scheme, rest, ok := strings.Cut(a, "://"); ok {
		switch strings.ToLower(scheme) {
		case "http":
			a = strings.TrimSuffix(rest, "/")
			if strings.Contains(a, "/") {
				return fmt.Errorf("invalid admin address %q: give the endpoint only (http://host:port), not a path", address)
			}
		default:
			return fmt.Errorf("invalid admin address %q: the admin endpoint speaks plain HTTP (http://host:port, host:port or unix//path)", address)
		}
	}
	na, err := caddy.ParseNetworkAddress(a)
	if err != nil || na.PortRangeSize() > 1 {
		return fmt.Errorf("invalid admin address %q: expected host:port, http://host:port or unix//path", address)
	}
	c.network = na.Network
	switch {
	case na.IsUnixNetwork():
		// unix//path|0220: the suffix is the socket's permissions
		path, _, _ := strings.Cut(na.Host, "|")
		c.dial = path
		// Caddy requires a loopback Host when there is none
		c.origin = "http://127.0.0.1"
	case na.IsFdNetwork():
		return fmt.Errorf("invalid admin address %q: a file descriptor cannot be dialed", address)
	default:
		c.dial = na.JoinHostPort(0)
		c.origin = "http://" + c.dial
	}
	return nil
}

// apiError is an answer of the admin endpoint other than 2xx.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Status == http.StatusUnauthorized {
		msg += " (check --key or $" + envAdminKey + ")"
	}
	return msg
}

// do calls the API: body (if not nil) is sent as JSON; the answer's body
// is returned, and decoded into out when out is not nil. header adds
// request headers.
func (c *client) do(ctx context.Context, method, path string, header http.Header, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.origin+path, rd)
	if err != nil {
		return nil, fmt.Errorf("making the request %s %s: %w", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !strings.HasPrefix(c.network, "unix") {
		req.Header.Set("Origin", c.origin) // as caddy's own commands send it
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &ne) && ne.Timeout():
			return nil, fmt.Errorf("%s %s: the admin endpoint at %s did not answer within %s", method, path, c.address, requestTimeout)
		}
		return nil, fmt.Errorf("cannot reach the admin endpoint at %s: is caddy running? (%s)", c.address, dialReason(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &apiError{Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: the answer is not what was expected (is %s the admin endpoint of caddy-ai-gateway?): %w", method, path, c.address, err)
		}
	}
	return b, nil
}

// dialReason is the part of a transport error that says why: "connect:
// connection refused" rather than the whole URL again.
func dialReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err.Error()
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// errorMessage is the message of an error answer: Caddy's {"error": …}, or
// the start of whatever else came back, on one line.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// session is one command's connection and where it prints.
type session struct {
	api  *client
	out  io.Writer // results
	info io.Writer // notes for a person, kept off out
	json bool      // print the API's JSON instead of tables
}

// printJSON prints an API answer indented, keeping its fields' order and
// its money strings as they came.
func (s *session) printJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(b), "", "  "); err != nil {
		return fmt.Errorf("the answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := s.out.Write(buf.Bytes())
	return err
}

// addClientFlags adds the flags every command that calls the API has.
func addClientFlags(cmd *cobra.Command) {
	cmd.Flags().String("address", "", "the admin endpoint: host:port, http://host:port or unix//path (default $CADDY_ADMIN, else localhost:2019)")
	cmd.Flags().String("key", "", "the management API key (default $"+envAdminKey+")")
	cmd.Flags().Bool("json", false, "print the API's JSON instead of a table")
}

// defaultAdminListen is Caddy's admin address: $CADDY_ADMIN, else
// localhost:2019 (caddy sets DefaultAdminListen from the environment).
func defaultAdminListen() string {
	if caddy.DefaultAdminListen != "" {
		return caddy.DefaultAdminListen
	}
	return "localhost:2019"
}

// apiCommand makes run the command's action: it connects with the
// common flags, and on failure prints one line on stderr and exits 1.
func apiCommand(cmd *cobra.Command, run func(ctx context.Context, s *session, fl caddycmd.Flags, args []string) error) {
	addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fl := caddycmd.Flags{FlagSet: cmd.Flags()}
		err := func() error {
			address := fl.String("address")
			if address == "" {
				address = defaultAdminListen()
			}
			key := fl.String("key")
			if key == "" {
				key = os.Getenv(envAdminKey)
			}
			api, err := newClient(address, key)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, &session{api: api, out: cmd.OutOrStdout(), info: cmd.ErrOrStderr(), json: fl.Bool("json")}, fl, args)
		}()
		if err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "Error: "+err.Error())
			cmd.SilenceErrors = true
			return err
		}
		return nil
	}
}

// maxPageSize is the largest ?limit= the API takes.
const maxPageSize = 100

// list reads the collection at path (its items under name) newest first,
// following nextPageUri, until it has max items (0: every item). next is
// where the rest starts, nil when nothing is left.
func (c *client) list(ctx context.Context, path, name string, max int) (items []json.RawMessage, next *string, err error) {
	size := maxPageSize
	if max > 0 {
		size = min(max, maxPageSize)
	}
	uri := withQuery(path, "limit="+strconv.Itoa(size))
	for {
		var raw map[string]json.RawMessage
		if _, err := c.do(ctx, http.MethodGet, uri, nil, nil, &raw); err != nil {
			return nil, nil, err
		}
		var got []json.RawMessage
		if err := json.Unmarshal(raw[name], &got); err != nil {
			return nil, nil, fmt.Errorf("GET %s: the answer has no list %q: %w", uri, name, err)
		}
		var link *string
		if err := json.Unmarshal(raw["nextPageUri"], &link); err != nil && len(raw["nextPageUri"]) > 0 {
			return nil, nil, fmt.Errorf("GET %s: reading nextPageUri: %w", uri, err)
		}
		items = append(items, got...)
		if max > 0 && len(items) >= max {
			if len(items) > max || link != nil {
				items = items[:max]
				var last struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(items[max-1], &last)
				u := withQuery(path, "limit="+strconv.Itoa(size)+"&beforeId="+url.QueryEscape(last.ID))
				next = &u
			}
			return items, next, nil
		}
		if link == nil || len(got) == 0 {
			return items, nil, nil
		}
		if !strings.HasPrefix(*link, "/ai/") {
			return nil, nil, fmt.Errorf("GET %s: nextPageUri %q is not a management API path", uri, *link)
		}
		uri = *link
	}
}

// withQuery adds query (k=v&…) to path, which may have a query already.
func withQuery(path, query string) string {
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}

// listJSON is what --json prints for a list read in one or more pages:
// the API's page shape, with every item read.
func listJSON(name, uri string, items []json.RawMessage, next *string) ([]byte, error) {
	if items == nil {
		items = []json.RawMessage{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the API writes: & stays &
	err := enc.Encode(map[string]any{name: items, "uri": uri, "nextPageUri": next})
	return buf.Bytes(), err
}

// decodeItems decodes the items of a list.
func decodeItems[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, fmt.Errorf("reading the answer: %w", err)
		}
	}
	return out, nil
}
