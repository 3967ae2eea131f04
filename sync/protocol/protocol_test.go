package protocol_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
)

func TestReceiptAndCheckpointRoundTrip(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	rc := &protocol.Receipt{Version: 1, DeskID: "d1", Seq: 7, Head: record.Hash{7}, Stored: 2, Time: 1}
	b, err := protocol.SignReceipt(rc, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.VerifyReceipt(b, pub, "d1")
	if err != nil || got.Seq != 7 || got.Head != rc.Head {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := protocol.VerifyReceipt(b, pub, "d2"); err == nil {
		t.Fatal("receipt for another desk accepted")
	}
	if _, err := protocol.VerifyReceipt(b, other, "d1"); !errors.Is(err, record.ErrSignature) {
		t.Fatalf("receipt under another key: %v", err)
	}
	// A checkpoint is not a receipt, and the other way round.
	cp, _ := protocol.SignCheckpoint(&protocol.Checkpoint{Version: 1, Size: 3}, key)
	if _, err := protocol.VerifyReceipt(cp, pub, "d1"); err == nil {
		t.Fatal("checkpoint accepted as a receipt")
	}
	if _, err := protocol.VerifyCheckpoint(b, pub); err == nil {
		t.Fatal("receipt accepted as a checkpoint")
	}
}

func TestDecodeBatchLimits(t *testing.T) {
	ok := &protocol.Batch{Version: 1, DeskID: "d", Records: []protocol.BatchRecord{{Envelope: []byte{1}}}}
	b, _ := protocol.EncMode.Marshal(ok)
	if _, err := protocol.DecodeBatch(b); err != nil {
		t.Fatal(err)
	}
	for name, bt := range map[string]*protocol.Batch{
		"version":    {Version: 2, DeskID: "d", Records: ok.Records},
		"no desk":    {Version: 1, Records: ok.Records},
		"no records": {Version: 1, DeskID: "d"},
		"blobs":      {Version: 1, DeskID: "d", Records: []protocol.BatchRecord{{Envelope: []byte{1}, Blobs: make([][]byte, 17)}}},
	} {
		b, _ := protocol.EncMode.Marshal(bt)
		if _, err := protocol.DecodeBatch(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	b, _ := protocol.EncMode.Marshal(&protocol.Batch{Version: 1, DeskID: "d", KnownLog: 3,
		Records: []protocol.BatchRecord{{Envelope: []byte{0xd2, 0x84}, Blobs: [][]byte{{1, 2}}}}})
	f.Add(b)
	r, _ := protocol.EncMode.Marshal(&protocol.Refusal{Reason: protocol.ReasonGap, Seq: 4, Head: 2})
	f.Add(r)
	f.Fuzz(func(t *testing.T, b []byte) {
		if bt, err := protocol.DecodeBatch(b); err == nil && (bt.Version != 1 || len(bt.Records) == 0) {
			t.Fatal("invalid batch decoded")
		}
		if ref, err := protocol.DecodeRefusal(b); err == nil && ref.Reason == "" {
			t.Fatal("refusal without reason decoded")
		}
	})
}

func FuzzVerifySigned(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	rc, _ := protocol.SignReceipt(&protocol.Receipt{Version: 1, DeskID: "d", Seq: 1, Checkpoint: []byte{1}, Inclusion: [][][]byte{{{1}}}}, key)
	cp, _ := protocol.SignCheckpoint(&protocol.Checkpoint{Version: 1, Size: 9}, key)
	bd, _ := protocol.SignBundle(&protocol.Bundle{Version: 1, Kind: protocol.BundleOfficers, Serial: 2, Content: []byte("x")}, key)
	f.Add(rc)
	f.Add(cp)
	f.Add(bd)
	f.Fuzz(func(t *testing.T, b []byte) {
		protocol.VerifyReceipt(b, pub, "d")                                 //nolint:errcheck // must not panic
		protocol.VerifyCheckpoint(b, pub)                                   //nolint:errcheck
		protocol.VerifyBundle(b, pub, protocol.BundleOfficers, "d", 0)      //nolint:errcheck
		protocol.VerifyLog(&protocol.Receipt{Checkpoint: b}, pub, nil, nil) //nolint:errcheck
	})
}
