package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestZZStats(t *testing.T) {
	db, _, took := loadBig(t, t.TempDir(), 200000)
	defer db.Close()
	t.Log(took)
	db.bolt.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketUsage)
		for _, n := range []string{"events", "ids", "requests", "access_keys", "accounts", "hourly", "hourly_models", "hourly_keys"} {
			s := root.Bucket([]byte(n)).Stats()
			t.Logf("%-12s keys=%d leafInuse=%dKB leafAlloc=%dKB branchAlloc=%dKB", n, s.KeyN, s.LeafInuse>>10, s.LeafAlloc>>10, s.BranchAlloc>>10)
		}
		return nil
	})
}
