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
// decodes and classifies each node's inputs once.
//
// byInputs is keyed by the inputs themselves (wire.Node.AppendInputs): a hash finds the
// entry and it is used only for the same bytes. Nothing a caller says about a node's
// identity (name, resourceVersion) is trusted to stand for its content, so nothing is
// remembered by name.
type rememberedNodes struct {
	byInputs *lru.Cache[uint64, *rememberedNode]
}

type rememberedNode struct {
	// key is the node's inputs as AppendInputs writes them.
	key   []byte
	entry *policy.Profiled
}

func newRememberedNodes() *rememberedNodes {
	byInputs, err := lru.New[uint64, *rememberedNode](rememberedNodesSize)
	if err != nil {
		panic(err)
	}
	return &rememberedNodes{byInputs: byInputs}
}

// Len is how many distinct node inputs are remembered.
func (r *rememberedNodes) Len() int { return r.byInputs.Len() }

// reset forgets every node.
func (r *rememberedNodes) reset() {
	r.byInputs.Purge()
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
		e := policy.NewProfiled(parts.Inputs())
		if len(key) > maxRememberedInputBytes {
			return e.Profile(p), nil
		}
		rn = &rememberedNode{key: bytes.Clone(key), entry: e}
		r.byInputs.Add(h, rn)
	}
	return rn.entry.Profile(p), nil
}
