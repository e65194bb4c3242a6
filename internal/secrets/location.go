package secrets

import (
	"os"
	"path/filepath"
)

// SecretKeyFile is where a bbolt database's generated secret key is kept
// when secret_key is not set: beside the database db, as `<db>.key`, so
// the two move and are backed up together. An earlier version kept it in
// the data dir as secret.key: while only that file exists, it is the
// path, and moveTo says where it belongs.
func SecretKeyFile(db, dataDir string) (path, moveTo string) {
	return besideOrLegacy(db+".key", filepath.Join(dataDir, "secret.key"))
}

// ManagementKeyFile is where the generated bootstrap management key is
// kept when admin_key is not set: beside a bbolt database db, as
// `<db>.admin.key` (an earlier version's `admin.key` in the data dir is
// still used, as with SecretKeyFile); with db "" (PostgreSQL: no file to
// sit beside) in the data dir, per node.
func ManagementKeyFile(db, dataDir string) (path, moveTo string) {
	if db == "" {
		return filepath.Join(dataDir, "admin.key"), ""
	}
	return besideOrLegacy(db+".admin.key", filepath.Join(dataDir, "admin.key"))
}

// besideOrLegacy is beside, unless only legacy exists: then legacy, and
// moveTo is beside.
func besideOrLegacy(beside, legacy string) (path, moveTo string) {
	if _, err := os.Stat(beside); err == nil {
		return beside, ""
	}
	if _, err := os.Stat(legacy); err == nil {
		return legacy, beside
	}
	return beside, ""
}
