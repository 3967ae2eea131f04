package pcsctest

import (
	"context"
	"errors"
	"testing"

	"enrolldesk/reader"
	"enrolldesk/reader/pcsc"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/vcard"
)

// TestCardPulledMidRead: the card leaves the reader during DG2; the read fails with a clear error
// and returns nothing.
func TestCardPulledMidRead(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PullAfter: 8, MaxResponse: 2048})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	var lastFile string
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{
		Mode: reader.Extended, TrustStore: store,
		Progress: func(f string, _, _ int) { lastFile = f },
	})
	if !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Fatalf("pulled card: %v (last file %s)", err, lastFile)
	}
	if data != nil || v != nil {
		t.Fatal("partial result after the card was pulled")
	}
	t.Logf("error: %v", err)
}

// TestShortOnlyCardThroughPCSC: a card without extended length in its ATR is read in short mode by
// Auto, and refuses extended APDUs.
func TestShortOnlyCardThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{ShortOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	atr, _ := in.Conn.ATR()
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{ATR: atr, TrustStore: store})
	if err != nil {
		t.Fatal(err)
	}
	if data.Extended || !v.Genuine() {
		t.Fatalf("extended=%v verdict %+v", data.Extended, v.Checks)
	}
}

func TestBadMACThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{BadMACAfter: 4})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	data, _, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{TrustStore: store})
	if !errors.Is(err, sm.ErrMAC) || data != nil {
		t.Fatalf("bad MAC: %v", err)
	}
}
