package agent

import (
	bolt "go.etcd.io/bbolt"
)

// sessionsBucket holds the RADIUS driver's session table (learned from
// accounting), so that after a restart the agent still knows which sessions
// to send a CoA or Disconnect-Request to. Keys and values are the radius
// package's encoding; the store only keeps them. The bucket is created by
// the first write.
var sessionsBucket = []byte("radius_sessions")

// SaveSessions stores puts and removes deletes in the sessions bucket, in
// one transaction (fsynced like every commit), and implements
// radius.SessionStore. It returns bbolt's error when the write fails (a
// closed file, a full disk).
func (s *Store) SaveSessions(puts map[string][]byte, deletes []string) error {
	if len(puts) == 0 && len(deletes) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(sessionsBucket)
		if err != nil {
			return err
		}
		for _, k := range deletes {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		for k, v := range puts {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadSessions calls fn with every stored session, in key order, and
// implements radius.SessionStore. The slices are valid only during the
// call. An error from fn stops it and is returned.
func (s *Store) LoadSessions(fn func(key, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(fn)
	})
}

// SessionCount returns the number of stored RADIUS sessions.
func (s *Store) SessionCount() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(sessionsBucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
