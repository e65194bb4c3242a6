// Package testpg gives tests a real, empty PostgreSQL database each.
//
// With AI_GATEWAY_TEST_DATABASE_URL set (a URL of a role that may create
// databases), URL creates a uniquely named database on that server per
// call and drops it when the test ends. Otherwise the first call of a test
// process starts a throwaway cluster of its own: initdb in a temporary
// directory, a free loopback port, fsync off. As root, the server runs as
// the postgres user (it refuses root). Debian's binaries are found in
// /usr/lib/postgresql/*/bin (the newest), else on PATH.
//
// The cluster stops when the test binary exits: Main (call it from
// TestMain) stops it after the tests, and a watchdog process started with
// the cluster stops it within a second of the test process ending any
// other way (a panic, a timeout, a kill), so `go test` leaves no server
// running.
//
// Without a URL and without the binaries, tests that call URL fail with
// a message saying so, unless AI_GATEWAY_SKIP_POSTGRES=1 (then they skip).
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	EnvURL  = "AI_GATEWAY_TEST_DATABASE_URL"
	EnvSkip = "AI_GATEWAY_SKIP_POSTGRES"
)

var (
	startOnce sync.Once
	running   *cluster
	startErr  error
)

// URL returns the URL of a new, empty database, dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	admin, err := adminURL()
	if err != nil {
		if os.Getenv(EnvSkip) == "1" {
			t.Skipf("no PostgreSQL for this test (%s=1): %v", EnvSkip, err)
		}
		t.Fatalf("this test needs PostgreSQL: %v\n"+
			"Install PostgreSQL (Debian: apt-get install postgresql), or set %s to a server's URL, "+
			"or set %s=1 to skip these tests.", err, EnvURL, EnvSkip)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "aigw_test_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Main runs the tests of a package and stops the cluster URL started, if
// any: func TestMain(m *testing.M) { testpg.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster this process started, if any.
func Stop() {
	if running != nil {
		running.stop()
	}
}

func adminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// adminURL is the URL of a database on the test server to create others
// from.
func adminURL() (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, nil
	}
	startOnce.Do(func() { running, startErr = start() })
	if startErr != nil {
		return "", startErr
	}
	return running.url, nil
}

// cluster is a PostgreSQL server this process started.
type cluster struct {
	bin, dir, data string
	url            string
	opts           string // the server's options (pg_ctl -o)
	asPostgres     bool
	guard          *os.Process // the watchdog
	stopOnce       sync.Once
}

// binGlob is where Debian installs the server binaries.
var binGlob = "/usr/lib/postgresql/*/bin/initdb"

// binDir finds initdb: the newest /usr/lib/postgresql/*/bin, else PATH.
func binDir() (string, error) {
	found, _ := filepath.Glob(binGlob)
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	if len(found) > 0 {
		return filepath.Dir(found[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH, and " + EnvURL + " is not set")
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func start() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "aigw-testpg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), asPostgres: os.Geteuid() == 0}
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	c.watchdog()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -F -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=300", port, dir)
		out, err := c.run("pg_ctl", "-D", c.data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			c.opts = opts
			c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	c.stop()
	return nil, lastErr
}

// run runs a PostgreSQL binary, as the postgres user when this process is
// root.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if c.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, name)}, args...)...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// stopCommand is the shell command that stops the server and removes its
// directory.
func (c *cluster) stopCommand() string {
	stop := fmt.Sprintf("%s -D %s -m immediate -w stop", shellQuote(filepath.Join(c.bin, "pg_ctl")), shellQuote(c.data))
	if c.asPostgres {
		stop = "runuser -u postgres -- " + stop
	}
	return fmt.Sprintf("cd / && (%s) >/dev/null 2>&1; rm -rf %s", stop, shellQuote(c.dir))
}

// watchdog starts a process, in a session of its own and with no output
// (so go test does not wait for it), that stops the server once this
// process is gone, however it ended.
func (c *cluster) watchdog() {
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s", os.Getpid(), c.stopCommand())
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err == nil {
		c.guard = cmd.Process
	}
}

func (c *cluster) stop() {
	c.stopOnce.Do(func() {
		_ = exec.Command("sh", "-c", c.stopCommand()).Run()
		if c.guard != nil {
			_ = c.guard.Kill()
			_, _ = c.guard.Wait()
		}
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Restart stops the server this process started (as a crash would:
// immediate shutdown, connections cut), keeps it down for down, and
// starts it again on the same port. It skips the test when the server is
// not this process's (AI_GATEWAY_TEST_DATABASE_URL).
func Restart(t testing.TB, down time.Duration) {
	t.Helper()
	c := running // set once, before any test that could call Restart has its URL
	if os.Getenv(EnvURL) != "" || c == nil || c.opts == "" {
		t.Skip("the PostgreSQL server is not this test process's: it cannot be restarted")
	}
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
	time.Sleep(down)
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", c.opts, "start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}
