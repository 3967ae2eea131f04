package record_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/record"
)

// BenchmarkSign: one op = one record encoded, signed by the desk and countersigned by the officer
// (two Ed25519 signatures, RFC 9052 / RFC 9338), the CPU share of an outbox release.
func BenchmarkSign(b *testing.B) {
	_, desk, _ := ed25519.GenerateKey(rand.Reader)
	_, officer, _ := ed25519.GenerateKey(rand.Reader)
	id, err := record.NewID()
	if err != nil {
		b.Fatal(err)
	}
	r := &record.Record{Version: record.SchemaVersion, ID: id, DeskID: "desk-01", Seq: 7, Time: 1_760_000_000_000, Content: synctest.Content(7)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := record.Sign(r, desk, officer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: one op = a countersigned record parsed and both signatures verified, the
// registry's per-record work.
func BenchmarkVerify(b *testing.B) {
	pub, desk, _ := ed25519.GenerateKey(rand.Reader)
	_, officer, _ := ed25519.GenerateKey(rand.Reader)
	id, err := record.NewID()
	if err != nil {
		b.Fatal(err)
	}
	r := &record.Record{Version: record.SchemaVersion, ID: id, DeskID: "desk-01", Seq: 7, Time: 1_760_000_000_000, Content: synctest.Content(7)}
	s, err := record.Sign(r, desk, officer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := record.Verify(s.Envelope, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519: the floor, one raw Ed25519 signature and one verification over a payload of
// a record's size.
func BenchmarkEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 3000)
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	sig := ed25519.Sign(priv, msg)
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
}
