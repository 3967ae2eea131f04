package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

func auditChain(n int) []AuditEntry {
	prev := AuditGenesis
	out := make([]AuditEntry, n)
	for i := range out {
		e := AuditEntry{Seq: int64(i + 1), At: "2026-11-23T08:00:00.123456789Z", Actor: "sup1", Action: "login.ok", Subject: "sup1", Prev: prev}
		e.Hash = e.ComputeHash()
		out[i], prev = e, e.Hash
	}
	return out
}

// The chain hash is pinned: desks in the field and the registry must agree on it for ever. The
// expected value was computed independently (Python hashlib over the length-prefixed fields).
func TestAuditChainHashIsStable(t *testing.T) {
	e := auditChain(1)[0]
	const want = "cd039c6987b9b9214c14db9a5176af298010b85c41ce60eab3a48dfffbb5e62e"
	if !bytes.Equal(e.Hash, mustHex(t, want)) {
		t.Fatalf("hash %x, want %s", e.Hash, want)
	}
}

func TestAuditBatchRoundTripAndChecks(t *testing.T) {
	b, err := EncMode.Marshal(&AuditBatch{Version: Version, DeskID: "d1", Entries: auditChain(3)})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := DecodeAuditBatch(b)
	if err != nil || len(bt.Entries) != 3 {
		t.Fatalf("decode %v", err)
	}
	mutate := map[string]func(es []AuditEntry){
		"edited":   func(es []AuditEntry) { es[1].Detail = "x" },
		"unlinked": func(es []AuditEntry) { es[2].Prev = es[0].Hash; es[2].Hash = es[2].ComputeHash() },
		"skipped":  func(es []AuditEntry) { es[2].Seq = 5; es[2].Hash = es[2].ComputeHash() },
		"bad time": func(es []AuditEntry) { es[0].At = "yesterday"; es[0].Hash = es[0].ComputeHash() },
	}
	for name, m := range mutate {
		es := auditChain(3)
		m(es)
		b, _ := EncMode.Marshal(&AuditBatch{Version: Version, DeskID: "d1", Entries: es})
		if _, err := DecodeAuditBatch(b); !errors.Is(err, ErrAuditChain) {
			t.Errorf("%s: %v", name, err)
		}
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	rb, err := SignAuditReceipt(&AuditReceipt{Version: Version, DeskID: "d1", Seq: 3, Hash: bt.Entries[2].Hash, Stored: 3}, key)
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := VerifyAuditReceipt(rb, pub, "d1"); err != nil || rc.Seq != 3 {
		t.Fatalf("verify %+v %v", rc, err)
	}
	if _, err := VerifyAuditReceipt(rb, pub, "d2"); err == nil {
		t.Fatal("receipt for another desk accepted")
	}
	// A batch receipt is not an audit receipt.
	other, _ := SignReceipt(&Receipt{Version: Version, DeskID: "d1", Seq: 3}, key)
	if _, err := VerifyAuditReceipt(other, pub, "d1"); err == nil {
		t.Fatal("a batch receipt passed as an audit receipt")
	}
}

// FuzzDecodeAuditBatch: never a panic; anything accepted is a self-consistent chain.
func FuzzDecodeAuditBatch(f *testing.F) {
	b, _ := EncMode.Marshal(&AuditBatch{Version: Version, DeskID: "d1", Entries: auditChain(2)})
	f.Add(b)
	f.Add([]byte{0xa3, 0x61, 'v', 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		bt, err := DecodeAuditBatch(b)
		if err != nil {
			return
		}
		if err := CheckAuditChain(bt.Entries); err != nil {
			t.Fatalf("accepted an inconsistent chain: %v", err)
		}
		for _, e := range bt.Entries {
			if !bytes.Equal(e.ComputeHash(), e.Hash) {
				t.Fatal("accepted an entry whose hash does not match")
			}
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzVerifyAuditReceipt: never a panic; anything accepted names the desk and a 32-byte head.
func FuzzVerifyAuditReceipt(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	rc, _ := SignAuditReceipt(&AuditReceipt{Version: Version, DeskID: "d", Seq: 4, Hash: make([]byte, 32), Stored: 1}, key)
	f.Add(rc)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := VerifyAuditReceipt(b, pub, "d")
		if err != nil {
			return
		}
		if r.DeskID != "d" || len(r.Hash) != 32 || r.Seq < 0 {
			t.Fatalf("accepted %+v", r)
		}
	})
}
