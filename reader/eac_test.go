package reader_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
	"enrolldesk/reader/wsq"
)

// eacPKI is a CVCA with one domestic DV and an inspection system under it.
type eacPKI struct {
	cvca    *eac.Cert
	cvcaKey *ecdsa.PrivateKey
	dv      *eac.Cert
	dvKey   *ecdsa.PrivateKey
}

func newEAC(t testing.TB, country string) *eacPKI {
	t.Helper()
	now := time.Now()
	p := &eacPKI{}
	p.cvcaKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.dvKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var err error
	if p.cvca, err = eac.Issue(country+"CVCA00001", country+"CVCA00001", &p.cvcaKey.PublicKey, eac.RoleCVCA|eac.RightDG3|eac.RightDG4, now.AddDate(0, -1, 0), now.AddDate(3, 0, 0), p.cvcaKey); err != nil {
		t.Fatal(err)
	}
	if p.dv, err = eac.Issue(p.cvca.CHR, country+"DVPOLICE1", &p.dvKey.PublicKey, eac.RoleDVDomest|eac.RightDG3|eac.RightDG4, now.AddDate(0, 0, -7), now.AddDate(0, 3, 0), p.cvcaKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *eacPKI) terminal(t testing.TB, rights byte, expiry time.Time) *eac.Terminal {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	effective := time.Now().AddDate(0, 0, -1)
	if expiry.Before(effective) {
		effective = expiry.AddDate(0, -1, 0)
	}
	is, err := eac.Issue(p.dv.CHR, "VNDESK000001", &k.PublicKey, eac.RoleIS|rights, effective, expiry, p.dvKey)
	if err != nil {
		t.Fatal(err)
	}
	return &eac.Terminal{Chain: []*eac.Cert{p.dv, is}, Key: k}
}

func fingerPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "101_1.tif")
}

// wsqFinger re-encodes a finger as WSQ (ISO/IEC 19794-4 compression 2).
func wsqFinger(t *testing.T, f lds.Finger) lds.Finger {
	t.Helper()
	img, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if f.Image, err = wsq.Encode(img, nil); err != nil {
		t.Fatal(err)
	}
	f.Compression = lds.FingerWSQ
	return f
}

func TestTerminalAuthenticationAndDG3(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	finger, err := vcard.LoadFingerTIFF(fingerPath(), 2) // right index
	if err != nil {
		t.Fatal(err)
	}
	finger = wsqFinger(t, finger) // as real chips carry it
	f.citizen.Fingers = []lds.Finger{finger}
	defer func() { f.citizen.Fingers = nil }()
	p := newEAC(t, "VN")
	for _, o := range []vcard.Options{{CVCA: p.cvca}, {CVCA: p.cvca, PACEParamID: 13}, {CVCA: p.cvca, CADH: true}} {
		data, v, err := reader.Read(context.Background(), f.card(t, o), reader.MRZKey(f.citizen.AccessKey()),
			reader.Options{TrustStore: f.store, Terminal: p.terminal(t, eac.RightDG3, time.Now().AddDate(0, 0, 30))})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := v.Get(pa.CheckTerminalAuth); c.Status != pa.Passed || !v.Genuine() {
			t.Fatalf("TA: %+v", v.Checks)
		}
		if c, _ := v.Get("dg_hash_DG3"); c.Status != pa.Passed {
			t.Fatalf("DG3 hash: %+v", c)
		}
		img, err := data.Fingers[0].Decode()
		if err != nil || img.Bounds().Dx() != 388 || img.Bounds().Dy() != 374 || data.Fingers[0].Position != 2 || data.Fingers[0].Compression != lds.FingerWSQ {
			t.Fatalf("finger: %v %v", err, img.Bounds())
		}
	}
	// Refusals: a terminal of another country's CVCA, an expired IS certificate, an IS without DG3
	// rights. The read goes on without DG3; TA is unavailable, the chip is still genuine.
	other := newEAC(t, "UT")
	for name, term := range map[string]*eac.Terminal{
		"foreign CVCA": other.terminal(t, eac.RightDG3, time.Now().AddDate(0, 0, 30)),
		// The chip's date is the latest domestic effective date it has seen (the DV's, a week ago):
		// an IS certificate that expired before it is refused.
		"expired IS":   p.terminal(t, eac.RightDG3, time.Now().AddDate(0, 0, -10)),
		"no DG3 right": p.terminal(t, eac.RightDG4, time.Now().AddDate(0, 0, 30)),
	} {
		data, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{CVCA: p.cvca}), reader.MRZKey(f.citizen.AccessKey()),
			reader.Options{TrustStore: f.store, Terminal: term})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, _ := v.Get(pa.CheckTerminalAuth)
		if c.Status != pa.Unavailable || data.Fingers != nil || !v.Genuine() {
			t.Fatalf("%s: %+v fingers=%d", name, c, len(data.Fingers))
		}
		if name == "no DG3 right" && !strings.Contains(c.Reason, "no access to DG3") {
			t.Fatalf("%s: %s", name, c.Reason)
		}
	}
	// Without terminal credentials DG3 is not attempted.
	_, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{CVCA: p.cvca}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
	if c, _ := v.Get(pa.CheckTerminalAuth); err != nil || c.Status != pa.Unavailable {
		t.Fatalf("no terminal: %+v %v", c, err)
	}
}
