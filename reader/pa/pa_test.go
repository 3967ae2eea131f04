package pa_test

import (
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
