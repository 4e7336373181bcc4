// Package boltx opens the bbolt databases of the reference stack the one way both sides do.
package boltx

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Open opens (creating if needed) the database file in dir, creates buckets and runs init in
// the same transaction; on an error after opening, the database is closed again.
//
// The freelist is synced on commit (bbolt's default): opening then reads it instead of scanning
// the whole file, so start-up does not grow with the number of records held.
func Open(dir, file string, buckets [][]byte, init func(tx *bolt.Tx) error) (*bolt.DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, file)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return init(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	return db, nil
}
