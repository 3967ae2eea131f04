package registry

import (
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
)

// LogHasher is the RFC 6962 §2.1 hasher (see protocol.LogHasher).
var LogHasher = protocol.LogHasher

// LeafHash is the log leaf of a record (see protocol.LeafHash).
func LeafHash(chain record.Hash) record.Hash { return protocol.LeafHash(chain) }

// Tree is the registry's append-only Merkle tree (RFC 6962) over every accepted record of every
// desk, kept in memory as the hashes of all perfect subtrees (2n nodes for n leaves) so that roots
// and proofs for any size cost O(log n).
type Tree struct {
	mu     sync.RWMutex
	levels [][]record.Hash // levels[0] are leaf hashes; levels[k][i] covers leaves [i·2ᵏ, (i+1)·2ᵏ)
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.levels) == 0 {
		return 0
	}
	return uint64(len(t.levels[0]))
}

// Append adds leaf hashes.
func (t *Tree) Append(leaves ...record.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range leaves {
		if len(t.levels) == 0 {
			t.levels = append(t.levels, nil)
		}
		t.levels[0] = append(t.levels[0], l)
		for k := 0; len(t.levels[k])%2 == 0; k++ {
			n := len(t.levels[k])
			var p record.Hash
			copy(p[:], LogHasher.HashChildren(t.levels[k][n-2][:], t.levels[k][n-1][:]))
			if len(t.levels) == k+1 {
				t.levels = append(t.levels, nil)
			}
			t.levels[k+1] = append(t.levels[k+1], p)
		}
	}
}

func (t *Tree) node(id compact.NodeID) ([]byte, error) {
	if int(id.Level) >= len(t.levels) || id.Index >= uint64(len(t.levels[id.Level])) {
		return nil, fmt.Errorf("merkle node %d/%d not in the tree", id.Level, id.Index)
	}
	h := t.levels[id.Level][id.Index]
	return h[:], nil
}

// Root returns the RFC 6962 root of the first size leaves.
func (t *Tree) Root(size uint64) (record.Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out record.Hash
	if size == 0 {
		copy(out[:], LogHasher.EmptyRoot())
		return out, nil
	}
	if len(t.levels) == 0 || size > uint64(len(t.levels[0])) {
		return out, fmt.Errorf("merkle root: size %d beyond the tree", size)
	}
	// The perfect subtrees of [0, size), left to right, folded from the right.
	ids := compact.RangeNodes(0, size, nil)
	acc, err := t.node(ids[len(ids)-1])
	if err != nil {
		return out, err
	}
	for i := len(ids) - 2; i >= 0; i-- {
		l, err := t.node(ids[i])
		if err != nil {
			return out, err
		}
		acc = LogHasher.HashChildren(l, acc)
	}
	copy(out[:], acc)
	return out, nil
}

func (t *Tree) fetch(n proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(n.IDs))
	for i, id := range n.IDs {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	return n.Rehash(hashes, LogHasher.HashChildren)
}

// InclusionProof proves leaf index in the tree of the given size (RFC 6962 §2.1.1).
func (t *Tree) InclusionProof(index, size uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.fetch(n)
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of size2 (RFC 6962 §2.1.2).
func (t *Tree) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.fetch(n)
}
