package extender

import (
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// passedSlots is how many pods' filter results are kept for their prioritize. kube-scheduler
// schedules one pod at a time and calls prioritize right after filter; a few more slots cover
// a second scheduler profile and concurrent callers. A slot holds a pointer per node passed:
// at most passedSlots × MaxNodesPerRequest × 8 bytes (640 KB with the defaults).
const passedSlots = 8

// passedNodes keeps, for the last pods filtered, the classes of the nodes filter passed, in
// the order it passed them. kube-scheduler sends prioritize exactly those names in that order
// (findNodesThatPassExtenders, then prioritizeNodes in schedule_one.go), so prioritize takes
// their classes from here rather than looking each name up again: with 5000 nodes the lookups
// are a third of the extender's CPU, the node map being out of the CPU's cache between
// requests. A prioritize whose names are not the ones passed, in the same order, or whose pod
// was analysed afresh, looks its names up. The classes are those filter judged with, as
// kube-scheduler scores the nodes of the snapshot it filtered.
//
// The names are compared by a 64-bit hash with a seed of this process: a caller that cannot
// read the seed cannot make two lists collide, and one that could would only change the
// scores of its own request.
type passedNodes struct {
	seed  maphash.Seed
	mu    sync.Mutex
	slots [passedSlots]passedSlot
	next  int // the slot to overwrite next
}

type passedSlot struct {
	// pod is the analysis filter judged with: the same Pod bytes under the same policy and
	// objects, which prioritize gets from the pod cache.
	pod     *podEntry
	names   uint64 // the namesHasher sum of the names passed, in order
	classes []*policy.Class
}

func newPassedNodes() *passedNodes { return &passedNodes{seed: maphash.MakeSeed()} }

// namesHasher hashes a list of names, each with its length so that no two lists join alike.
type namesHasher struct{ h maphash.Hash }

func (p *passedNodes) hasher() (n namesHasher) {
	n.h.SetSeed(p.seed)
	return n
}

func (n *namesHasher) add(name []byte) {
	var size [4]byte
	binary.LittleEndian.PutUint32(size[:], uint32(len(name)))
	_, _ = n.h.Write(size[:])
	_, _ = n.h.Write(name)
}

func (n *namesHasher) sum() uint64 { return n.h.Sum64() }

// remember keeps the classes of the names filter passed for pod, names being their hash.
func (p *passedNodes) remember(pod *podEntry, names uint64, classes []*policy.Class) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := &p.slots[p.next]
	p.next = (p.next + 1) % passedSlots
	slot.pod, slot.names = pod, names
	slot.classes = append(slot.classes[:0], classes...)
}

// recall appends to dst the classes filter found for names, if it passed exactly these names
// for pod, and reports whether it did.
func (p *passedNodes) recall(pod *podEntry, names []wire.Name, dst []*policy.Class) ([]*policy.Class, bool) {
	h := p.hasher()
	for _, name := range names {
		h.add(name.Key)
	}
	sum := h.sum()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.slots {
		slot := &p.slots[i]
		if slot.pod == pod && slot.names == sum && len(slot.classes) == len(names) {
			return append(dst, slot.classes...), true
		}
	}
	return dst, false
}
