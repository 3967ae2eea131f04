package lds

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader/tlv"
)

// The TD1 specimen of ICAO Doc 9303 part 5 (Utopia ID card of Anna Maria Eriksson).
const specimenTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"

func TestParseMRZSpecimen(t *testing.T) {
	m, err := ParseDG1(DG1Bytes(specimenTD1))
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentCode != "I" || m.IssuingState != "UTO" || m.DocumentNumber != "D23145890" || m.DateOfBirth != "740812" ||
		m.Sex != "F" || m.DateOfExpiry != "120415" || m.Nationality != "UTO" || m.Name != "ERIKSSON ANNA MARIA" || !m.ChecksOK {
		t.Fatalf("%+v", m)
	}
	// The builder reproduces the specimen from its fields.
	got, err := TD1("I", "UTO", "D23145890", "", "740812", "F", "120415", "UTO", "", "ERIKSSON", "ANNA MARIA")
	if err != nil || got != specimenTD1 {
		t.Fatalf("TD1 builder:\n%s\n%s (%v)", got, specimenTD1, err)
	}
	bad := []byte(specimenTD1)
	bad[59] = '7' // composite check digit
	if m, err := ParseMRZ(string(bad)); err != nil || m.ChecksOK {
		t.Fatalf("bad composite accepted: %v", err)
	}
}

func TestCCCDNumber(t *testing.T) {
	mrz, err := TD1("ID", "VNM", "099012345", "001099012345", "990315", "F", "240315", "VNM", "", "NGUYEN", "THI HUONG")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMRZ(mrz)
	if err != nil || !m.ChecksOK {
		t.Fatalf("%+v %v", m, err)
	}
	if id, ok := m.CCCDNumber(); !ok || id != "001099012345" {
		t.Fatalf("CCCD number %q %v", id, ok)
	}
	if k := m.AccessKey(); k.DocumentNumber != "099012345" || k.DateOfExpiry != "240315" {
		t.Fatalf("%+v", k)
	}
}

func sampleVN() *VNData {
	return &VNData{IDNumber: "001099012345", FullName: "Nguyễn Thị Hương", DateOfBirth: "15/03/1999", Sex: "Nữ",
		Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", PlaceOfOrigin: "Đông Hưng, Thái Bình",
		PlaceOfResidence: "Hàng Bạc, Hoàn Kiếm, Hà Nội", IdentifyingMarks: "Nốt ruồi", DateOfIssue: "20/04/2021",
		DateOfExpiry: "15/03/2024", FatherName: "Nguyễn Văn Bình", MotherName: "Trần Thị Lan", SpouseName: "Lê Văn Cường", OldIDNumber: "013456789"}
}

func TestDG13RoundTripAndLayouts(t *testing.T) {
	want := sampleVN()
	got, err := ParseDG13(DG13Bytes(want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	// The same entries inside one more SEQUENCE, with an OID first and PrintableString/IA5String
	// values, parse the same (structure, not byte patterns).
	e := func(n byte, v ...[]byte) []byte {
		return tlv.Encode(0x30, tlv.Concat(append([][]byte{tlv.Encode(0x02, []byte{n})}, v...)...))
	}
	alt := tlv.Encode(0x6D, tlv.Encode(0x30, tlv.Concat(
		e(1, tlv.Encode(0x13, []byte("001099012345"))),
		e(2, tlv.Encode(0x0C, []byte("Nguyễn Thị Hương"))),
		e(13, tlv.Encode(0x0C, []byte("Nguyễn Văn Bình")), tlv.Encode(0x0C, []byte("Trần Thị Lan"))),
		e(16, tlv.Encode(0x16, []byte("013456789"))),
		e(20, tlv.Encode(0x06, []byte{0x2B, 0x06}), tlv.Encode(0x0C, []byte("x"))),
	)))
	got, err = ParseDG13(alt)
	if err != nil || got.FullName != "Nguyễn Thị Hương" || got.MotherName != "Trần Thị Lan" || got.OldIDNumber != "013456789" || got.Other[20][0] != "x" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{
		tlv.Encode(0x6D, e(1, tlv.Encode(0x0C, []byte{0xC3, 0x28}))), // invalid UTF-8
		tlv.Encode(0x6D, e(2, tlv.Encode(0x0C, []byte("no id")))),    // no field 1
		tlv.Encode(0x6D, tlv.Concat(e(1, tlv.Encode(0x13, []byte("1"))), e(1, tlv.Encode(0x13, []byte("2"))))),
	} {
		if _, err := ParseDG13(bad); err == nil {
			t.Errorf("accepted %X", bad)
		}
	}
}

func TestParseVNDate(t *testing.T) {
	for in, want := range map[string]string{"15/03/1999": "1999-03-15", "15031999": "1999-03-15", "19990315": "1999-03-15", "1999-03-15": "1999-03-15"} {
		d, ok := ParseVNDate(in)
		if !ok || d.Format(time.DateOnly) != want {
			t.Errorf("%s: %v %v", in, d, ok)
		}
	}
	if _, ok := ParseVNDate("Không thời hạn"); ok {
		t.Error("no-expiry text parsed as a date")
	}
}

func TestDG2RoundTrip(t *testing.T) {
	img := bytes.Repeat([]byte{0xAA}, 5000)
	faces, err := ParseDG2(DG2Bytes(img, ImageJPEG2000, 320, 400))
	if err != nil || len(faces) != 1 || !bytes.Equal(faces[0].Image, img) || faces[0].Width != 320 || faces[0].MIME() != "image/jp2" {
		t.Fatalf("%v", err)
	}
	if _, err := faces[0].Decode(); err == nil || err == ErrJPEG2000 {
		t.Fatalf("JPEG 2000 without a JP2 header: %v", err)
	}
	// A well-formed JP2 header, and no decoder registered in this package's tests.
	faces, err = ParseDG2(DG2Bytes(jp2Header(200, 250), ImageJPEG2000, 200, 250))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := faces[0].Decode(); err != ErrJPEG2000 {
		t.Fatalf("JPEG 2000 decode: %v", err)
	}
	d := DG2Bytes(img, ImageJPEG, 1, 1)
	if _, err := ParseDG2(d[:len(d)-10]); err == nil {
		t.Fatal("truncated DG2 accepted")
	}
}

func testSigner(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "DS"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

func TestSODRoundTrip(t *testing.T) {
	k, c := testSigner(t)
	dgs := map[int][]byte{1: DG1Bytes(specimenTD1), 13: DG13Bytes(sampleVN())}
	raw, err := BuildSOD(SODParams{HashAlg: crypto.SHA256, DataGroups: dgs, Signer: k, Cert: c})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSOD(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s.HashAlg != crypto.SHA256 || len(s.DGHashes) != 2 || !s.ContentType.Equal(OIDLDSSecurityObj) || len(s.MessageDigest) != 32 {
		t.Fatalf("%+v", s)
	}
	sc, err := s.SignerCert()
	if err != nil || !sc.Equal(c) {
		t.Fatal(err)
	}
	alg, err := s.X509SignatureAlgorithm()
	if err != nil || sc.CheckSignature(alg, s.SignedAttrs, s.Signature) != nil {
		t.Fatalf("signature: %v", err)
	}
	if _, err := ParseSOD(raw[:len(raw)-5]); err == nil {
		t.Fatal("truncated SOD accepted")
	}
}

func TestCOM(t *testing.T) {
	c := &Com{LDSVersion: "0107", UnicodeVersion: "040000", DataGroups: []int{1, 2, 13, 14, 15}}
	got, err := ParseCOM(c.Bytes())
	if err != nil || got.LDSVersion != "0107" || len(got.DataGroups) != 5 || got.DataGroups[2] != 13 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestDG14(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	b, err := DG14Bytes(spki, OIDCAECDHAES128)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDG14(b)
	if err != nil || len(d.CAKeys) != 1 || len(d.CAInfos) != 1 || !bytes.Equal(d.CAKeys[0].SPKI, spki) || d.CAInfos[0].Version != 1 {
		t.Fatalf("%+v %v", d, err)
	}
	aa, err := ParseDG15(DG15Bytes(spki))
	if err != nil || !aa.Key.(*ecdsa.PublicKey).Equal(&k.PublicKey) {
		t.Fatal(err)
	}
	if !strings.Contains(OIDPACEECDHGMAES128.String(), "0.4.0.127.0.7.2.2.4.2.2") {
		t.Fatal(OIDPACEECDHGMAES128)
	}
}

// jp2Header is the start of a JP2 file: signature, file type and header boxes (ISO/IEC 15444-1
// annex I), with the image header box announcing w×h, 3 components of 8 bits.
func jp2Header(w, h uint32) []byte {
	box := func(typ string, body ...[]byte) []byte {
		b := bytes.Join(body, nil)
		return append(binary.BigEndian.AppendUint32(nil, uint32(8+len(b))), append([]byte(typ), b...)...)
	}
	ihdr := binary.BigEndian.AppendUint32(nil, h)
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = append(ihdr, 0, 3, 7, 7, 0, 0)
	colr := []byte{1, 0, 0, 0, 0, 0, 16} // enumerated colour space: sRGB
	return bytes.Join([][]byte{JP2Signature, box("ftyp", []byte("jp2 \x00\x00\x00\x00jp2 ")), box("jp2h", box("ihdr", ihdr), box("colr", colr))}, nil)
}

func TestJPEG2000Size(t *testing.T) {
	siz := func(x, y, xo, yo uint32) []byte {
		b := append([]byte{}, J2KSignature...)
		b = binary.BigEndian.AppendUint16(b, 41)
		b = binary.BigEndian.AppendUint16(b, 0)
		for _, v := range []uint32{x, y, xo, yo, 0, 0, 0, 0} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return append(b, 0, 1, 7, 1, 1)
	}
	for _, c := range []struct {
		name string
		b    []byte
		w, h int
		ok   bool
	}{
		{"jp2", jp2Header(200, 250), 200, 250, true},
		{"codestream", siz(330, 410, 10, 10), 320, 400, true},
		{"huge", jp2Header(100000, 100000), 0, 0, false},
		{"zero", jp2Header(0, 10), 0, 0, false},
		{"offset beyond", siz(10, 10, 20, 0), 0, 0, false},
		{"truncated box", jp2Header(200, 250)[:40], 0, 0, false},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, 0, 0, false},
	} {
		w, h, err := JPEG2000Size(c.b)
		if (err == nil) != c.ok || w != c.w || h != c.h {
			t.Errorf("%s: %d×%d, %v", c.name, w, h, err)
		}
	}
}
