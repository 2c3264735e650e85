package extender

import (
	"bytes"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// Bounds of the nodes remembered from full-Node requests: a few versions of every node of a
// 5000-node cluster. Nodes whose policy inputs are larger than maxRememberedInputBytes (a
// real node's labels are about a kilobyte) are classified on every request instead, so the
// memory stays under rememberedNodesSize × maxRememberedInputBytes whatever callers send.
const (
	rememberedNodesSize     = 8192
	maxRememberedInputBytes = 8 << 10
)

// rememberedNodes remembers the nodes full-Node requests carried, so that a steady cluster
// decodes and classifies each node's inputs once, and preempt (which is sent node names
// only) can judge the nodes a filter call has shown.
//
// byInputs is keyed by the inputs themselves (wire.Node.AppendInputs): a hash finds the
// entry and it is used only for the same bytes. Nothing a caller says about a node's
// identity (name, resourceVersion) is trusted to stand for its content. byName, for preempt
// only, holds the last inputs seen under each name.
type rememberedNodes struct {
	byInputs *lru.Cache[uint64, *rememberedNode]
	byName   *lru.Cache[uint64, *rememberedNode]
}

type rememberedNode struct {
	// key is the node's inputs as AppendInputs writes them (byInputs), or its name (byName).
	key   []byte
	entry *nodeEntry
}

func newRememberedNodes() *rememberedNodes {
	byInputs, err := lru.New[uint64, *rememberedNode](rememberedNodesSize)
	if err != nil {
		panic(err)
	}
	byName, err := lru.New[uint64, *rememberedNode](rememberedNodesSize)
	if err != nil {
		panic(err)
	}
	return &rememberedNodes{byInputs: byInputs, byName: byName}
}

// Len is how many distinct node inputs are remembered.
func (r *rememberedNodes) Len() int { return r.byInputs.Len() }

// reset forgets every node.
func (r *rememberedNodes) reset() {
	r.byInputs.Purge()
	r.byName.Purge()
}

// profileFor returns the profile under p of a node read from a request. scratch is a buffer
// the caller reuses from node to node.
func (r *rememberedNodes) profileFor(p *policy.Policy, n *wire.Node, scratch *[]byte) (policy.NodeProfile, error) {
	*scratch = n.AppendInputs((*scratch)[:0])
	key := *scratch
	h := xxhash.Sum64(key)
	rn, ok := r.byInputs.Get(h)
	if !ok || !bytes.Equal(rn.key, key) {
		parts, err := n.Parts()
		if err != nil {
			return policy.NodeProfile{}, err
		}
		e := &nodeEntry{inputs: parts.Inputs()}
		if len(key) > maxRememberedInputBytes {
			return e.profile(p), nil
		}
		rn = &rememberedNode{key: bytes.Clone(key), entry: e}
		r.byInputs.Add(h, rn)
	}
	hn := xxhash.Sum64(n.Name.Key)
	if last, ok := r.byName.Peek(hn); !ok || last.entry != rn.entry || !bytes.Equal(last.key, n.Name.Key) {
		r.byName.Add(hn, &rememberedNode{key: bytes.Clone(n.Name.Key), entry: rn.entry})
	}
	return rn.entry.profile(p), nil
}

// byNodeName returns the last inputs seen under the node name, nil if none.
func (r *rememberedNodes) byNodeName(name []byte) *nodeEntry {
	rn, ok := r.byName.Get(xxhash.Sum64(name))
	if !ok || !bytes.Equal(rn.key, name) {
		return nil
	}
	return rn.entry
}
