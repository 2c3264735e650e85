package policy

import "sync/atomic"

// Store holds the policy in force and swaps it atomically on reload. A rejected document
// leaves the last good policy in place; callers decide how to report the error.
//
// It also counts the documents rejected in its place (Reject), so that every source of
// documents (a file, a ConfigMap) reports them on the same metric.
type Store struct {
	current    atomic.Pointer[Policy]
	generation atomic.Int64
	rejected   atomic.Int64
}

// NewStore returns a store holding p (generation 1).
func NewStore(p *Policy) *Store {
	s := &Store{}
	s.current.Store(p)
	s.generation.Store(1)
	return s
}

// Load returns the policy in force.
func (s *Store) Load() *Policy { return s.current.Load() }

// Generation counts the policies the store has held, starting at 1.
func (s *Store) Generation() int64 { return s.generation.Load() }

// Rejected counts the documents rejected in place of the policy in force.
func (s *Store) Rejected() int64 { return s.rejected.Load() }

// Reject records that a document was rejected: the policy in force stays.
func (s *Store) Reject() { s.rejected.Add(1) }

// Update parses data and puts it in force. On error the current policy stays and the document
// counts as rejected. A document identical to the one in force changes nothing and reports
// changed=false.
func (s *Store) Update(data []byte) (changed bool, err error) {
	p, err := Parse(data)
	if err != nil {
		s.Reject()
		return false, err
	}
	return s.Set(p), nil
}

// Set puts p in force unless it is the same document as the current one.
func (s *Store) Set(p *Policy) (changed bool) {
	if cur := s.current.Load(); cur != nil && cur.Digest() == p.Digest() {
		return false
	}
	s.current.Store(p)
	s.generation.Add(1)
	return true
}
