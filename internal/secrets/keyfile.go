package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateKeyFile returns the secret key in path, generated into it
// when the file is absent (created).
func LoadOrCreateKeyFile(path string) (key Key, created bool, err error) {
	text, created, err := LoadOrCreateFile(path, func() string { return NewKey().String() }, "secret key")
	if err == nil {
		if key, err = ParseKey(text); err != nil {
			err = fmt.Errorf("secret key in %s: %w", path, err)
		}
	}
	return key, created, err
}

// LoadOrCreateManagementKeyFile returns the hash of the management API
// key in path, generated into it when the file is absent (created).
func LoadOrCreateManagementKeyFile(path string) (h Hash, created bool, err error) {
	text, created, err := LoadOrCreateFile(path, func() string { return NewToken(ManagementKeyPrefix) }, "management API key")
	if err == nil {
		if err = CheckManagementKey(text); err != nil {
			err = fmt.Errorf("management API key in %s: %w", path, err)
		}
	}
	return HashToken(text), created, err
}

// CheckManagementKey refuses a management API key too short to be secret.
func CheckManagementKey(k string) error {
	if len(k) < 16 {
		return errors.New("must be at least 16 characters")
	}
	return nil
}

// LoadOrCreateFile returns the trimmed content of path, creating it with
// gen() when absent; created reports that this call wrote it. The file
// appears whole or not at all (written to a temporary file in the same
// directory, synced, then hard-linked into place, mode 0600), and of
// several processes racing to create it, one wins and all use its value.
// An empty file is an error, never overwritten: a key generated over it
// would not be the key the data was created with.
func LoadOrCreateFile(path string, gen func() string, what string) (value string, created bool, err error) {
	if v, err := readKeyFile(path, what); err == nil || !errors.Is(err, os.ErrNotExist) {
		return v, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("creating %s directory: %w", what, err)
	}
	v := gen()
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return "", false, fmt.Errorf("creating %s file: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(v + "\n"); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("writing %s file: %w", what, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("writing %s file: %w", what, err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("writing %s file: %w", what, err)
	}
	// link, unlike rename, fails when path exists: the first process wins
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			v, err := readKeyFile(path, what)
			return v, false, err
		}
		// a file system without hard links: exclusive create in place
		if err := createExclusive(path, v); err != nil {
			if errors.Is(err, os.ErrExist) {
				v, err := readKeyFile(path, what)
				return v, false, err
			}
			return "", false, fmt.Errorf("creating %s file: %w", what, err)
		}
	}
	syncDir(dir)
	return v, true, nil
}

func createExclusive(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// readKeyFile reads a key file; os.ErrNotExist when there is none.
func readKeyFile(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("reading %s: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s file %s is empty; delete it or restore the key", what, path)
	}
	return s, nil
}

// syncDir makes a new directory entry durable (best effort: not every
// platform can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
