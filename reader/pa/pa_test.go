package pa_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
)

func TestLoadTrustStore(t *testing.T) {
	a, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := vcard.NewPKI(vcard.PKIOptions{Country: "UT"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Two CSCAs in one PEM bundle, one DER copy, a CRL, and a file that is not a certificate.
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.CSCA.Raw}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.CSCA.Raw})...)
	must(t, os.WriteFile(filepath.Join(dir, "bundle.pem"), bundle, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "a.der"), a.CSCA.Raw, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a cert"), 0o644))
	must(t, a.RevokeDS(dir, time.Now()))
	ts, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.CSCAs) != 3 || len(ts.CRLs) != 1 {
		t.Fatalf("%d CSCAs, %d CRLs", len(ts.CSCAs), len(ts.CRLs))
	}
	if _, err := pa.LoadTrustStore(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no CSCA") {
		t.Fatalf("empty store: %v", err)
	}
	bad := t.TempDir()
	must(t, os.WriteFile(filepath.Join(bad, "x.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), 0o644))
	if _, err := pa.LoadTrustStore(bad); err == nil {
		t.Fatal("corrupt certificate accepted")
	}
}

func TestVerdictLogic(t *testing.T) {
	var v pa.Verdict
	for _, n := range pa.Mandatory {
		v.Add(n, pa.Passed, "")
	}
	if v.PassiveOK() {
		t.Fatal("passes without any data group hash")
	}
	v.Add("dg_hash_DG1", pa.Passed, "")
	v.Add(pa.CheckCRL, pa.Unavailable, "no CRL")
	if !v.PassiveOK() || !v.Genuine() {
		t.Fatal("should pass")
	}
	v.Add(pa.CheckActiveAuth, pa.Failed, "bad signature")
	if !v.PassiveOK() || v.Genuine() || len(v.Failed()) != 1 {
		t.Fatal("AA failure not reflected")
	}
	var w pa.Verdict
	w.Add(pa.CheckSODSignature, pa.Passed, "")
	if w.PassiveOK() {
		t.Fatal("passes with mandatory checks missing")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMasterList(t *testing.T) {
	a, _ := vcard.NewPKI(vcard.PKIOptions{})
	b, _ := vcard.NewPKI(vcard.PKIOptions{Country: "UT"})
	c, _ := vcard.NewPKI(vcard.PKIOptions{Country: "ZZ"})
	ml, err := a.MasterList(a.CSCA, b.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "icao.ml"), ml, 0o644))
	ts, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// DER sorts the SET OF, so the order of the list is not the order given.
	if len(ts.CSCAs) != 2 || !(ts.CSCAs[0].Equal(b.CSCA) || ts.CSCAs[1].Equal(b.CSCA)) || !(ts.CSCAs[0].Equal(a.CSCA) || ts.CSCAs[1].Equal(a.CSCA)) {
		t.Fatalf("%d CSCAs", len(ts.CSCAs))
	}
	// Altered content: the message digest no longer matches.
	bad := append([]byte(nil), ml...)
	i := strings.Index(string(bad), string(b.CSCA.RawSubject))
	bad[i+20] ^= 1
	if err := (&pa.TrustStore{}).AddMasterList(bad, time.Now()); err == nil {
		t.Fatal("altered master list accepted")
	}
	// Signed by a CSCA that is neither in the list nor in the store.
	foreign, _ := c.MasterList(a.CSCA, b.CSCA)
	if err := (&pa.TrustStore{}).AddMasterList(foreign, time.Now()); err == nil || !strings.Contains(err.Error(), "not issued") {
		t.Fatalf("foreign signer: %v", err)
	}
	// ...but accepted when that CSCA is already trusted.
	if err := (&pa.TrustStore{CSCAs: []*x509.Certificate{c.CSCA}}).AddMasterList(foreign, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func FuzzAddMasterList(f *testing.F) {
	a, _ := vcard.NewPKI(vcard.PKIOptions{})
	ml, _ := a.MasterList(a.CSCA)
	f.Add(ml)
	f.Fuzz(func(t *testing.T, b []byte) { _ = (&pa.TrustStore{}).AddMasterList(b, time.Now()) })
}
