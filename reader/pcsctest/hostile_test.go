package pcsctest

import (
	"context"
	"errors"
	"testing"

	"enrolldesk/reader"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcsc"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/vcard"
)

// TestCardPulledMidRead: the card leaves the reader during DG2; the read fails with a clear error
// and returns nothing.
func TestCardPulledMidRead(t *testing.T) {
	pki, citizen, store := fixture(t)
	// With 2 KB per response, the 13th APDU falls inside DG2 (after access control, COM, SOD, DG14,
	// chip authentication and DG1).
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PullAfter: 13, MaxResponse: 2048})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	var lastFile string
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{
		Mode: reader.Extended, TrustStore: store,
		Progress: func(f string, _, _ int) { lastFile = f },
	})
	if !errors.Is(err, pcsc.ErrCardRemoved) || errors.Is(err, reader.ErrChipAuth) || lastFile != "DG2" {
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

// TestPassiveAuthFailuresThroughPCSC: for every forged or altered element the virtual card can
// present, the read through pcscd completes and exactly the matching check fails.
func TestPassiveAuthFailuresThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	cases := []struct {
		name  string
		forge vcard.Forgery
		pki   *vcard.PKI
		check string
	}{
		{"DG1 altered", vcard.ForgeDG1, pki, "dg_hash_DG1"},
		{"DG2 altered", vcard.ForgeDG2, pki, "dg_hash_DG2"},
		{"DG13 altered", vcard.ForgeDG13, pki, "dg_hash_DG13"},
		{"SOD signature", vcard.ForgeSODSignature, pki, pa.CheckSODSignature},
		{"message digest", vcard.ForgeMessageDigest, pki, pa.CheckSODDigest},
		{"DS from unknown CSCA", vcard.ForgeUnknownCSCA, pki, pa.CheckDSChain},
		{"DG13 hash missing", vcard.ForgeDGHashMissing, pki, "dg_hash_DG13"},
		{"expired DS", vcard.ForgeNone, expiredDS(t, pki), pa.CheckDSValidity},
	}
	for _, c := range cases {
		card, err := vcard.Personalise(citizen, c.pki, vcard.Options{Forge: c.forge})
		if err != nil {
			t.Fatal(err)
		}
		in := insert(t, card)
		data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{TrustStore: store})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _ := v.Get(c.check)
		if got.Status != pa.Failed || v.PassiveOK() || len(v.Failed()) != 1 || data == nil {
			t.Fatalf("%s: %s = %+v; failed: %+v", c.name, c.check, got, v.Failed())
		}
		in.close()
	}
}

// expiredDS is the same CSCA with a document signer certificate that expired yesterday.
func expiredDS(t *testing.T, p *vcard.PKI) *vcard.PKI {
	t.Helper()
	q := &vcard.PKI{CSCA: p.CSCA, CSCAKey: p.CSCAKey}
	if err := q.IssueDS(vcard.PKIOptions{DSExpired: true}); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestCloneFailsChipAuthenticationThroughPCSC: a chip without its DG14 private key is refused.
func TestCloneFailsChipAuthenticationThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{CloneChip: true})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	data, _, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{TrustStore: store})
	if !errors.Is(err, reader.ErrChipAuth) || data != nil {
		t.Fatalf("clone: %v", err)
	}
}

// TestExtendedLengthFromEFATRInfoThroughPCSC: the extended length announced only in EF.ATR/INFO is
// found and used through pcscd.
func TestExtendedLengthFromEFATRInfoThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{ExtendedInEFATR: 8192})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	atr, _ := in.Conn.ATR()
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{ATR: atr, TrustStore: store})
	if err != nil || !v.Genuine() || !data.Extended {
		t.Fatalf("extended=%v: %v", data != nil && data.Extended, err)
	}
	t.Logf("%d APDUs with 8 KB responses", data.APDUs)
}
