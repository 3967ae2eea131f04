package registry_test

import (
	"crypto/sha256"
	"testing"

	"github.com/transparency-dev/merkle/proof"

	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// mth is RFC 6962 §2.1's definition, written out: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) ||
// MTH(D[k:n])) with k the largest power of two < n.
func mth(leaves []record.Hash) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0][:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(mth(leaves[:k]))
	h.Write(mth(leaves[k:]))
	return h.Sum(nil)
}

func TestTreeAgainstRFC6962(t *testing.T) {
	var tr registry.Tree
	var leaves []record.Hash
	for i := 0; i < 70; i++ {
		var c record.Hash
		c[0], c[1] = byte(i), byte(i>>8)
		l := registry.LeafHash(c)
		if want := sha256.Sum256(append([]byte{0}, c[:]...)); l != want {
			t.Fatal("leaf hash is not SHA-256(0x00 || data)")
		}
		leaves = append(leaves, l)
		tr.Append(l)
	}
	for size := uint64(0); size <= 70; size++ {
		root, err := tr.Root(size)
		if err != nil || string(root[:]) != string(mth(leaves[:size])) {
			t.Fatalf("root of %d: %v", size, err)
		}
		for idx := uint64(0); idx < size; idx += 7 {
			p, err := tr.InclusionProof(idx, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(registry.LogHasher, idx, size, leaves[idx][:], p, root[:]); err != nil {
				t.Fatalf("inclusion %d/%d: %v", idx, size, err)
			}
		}
		for old := uint64(1); old <= size; old += 5 {
			p, err := tr.ConsistencyProof(old, size)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot, _ := tr.Root(old)
			if err := proof.VerifyConsistency(registry.LogHasher, old, size, p, oldRoot[:], root[:]); err != nil {
				t.Fatalf("consistency %d→%d: %v", old, size, err)
			}
		}
	}
	if _, err := tr.Root(71); err == nil {
		t.Fatal("root beyond the tree")
	}
}
