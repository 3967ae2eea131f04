package lds

import (
	"crypto"
	"testing"
)

// Every parser of the LDS is fuzzed: none may panic on any input.

func FuzzParseDG1(f *testing.F) {
	f.Add(DG1Bytes(specimenTD1))
	f.Add(DG1Bytes("ID" + specimenTD1[2:]))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseDG1(b); err == nil {
			_, _ = m.CCCDNumber()
		}
	})
}

func FuzzParseDG2(f *testing.F) {
	f.Add(DG2Bytes([]byte{0xFF, 0xD8, 0xFF, 0xD9}, ImageJPEG, 2, 2))
	f.Add(DG2Bytes([]byte{0xFF, 0x4F, 0xFF, 0x51}, ImageJPEG2000, 2, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		faces, err := ParseDG2(b)
		if err != nil {
			return
		}
		for i := range faces {
			if len(faces[i].Image) < 1<<16 {
				_, _ = faces[i].Decode()
			}
		}
	})
}

func FuzzParseDG13(f *testing.F) {
	f.Add(DG13Bytes(sampleVN()))
	f.Add(DG13Bytes(&VNData{IDNumber: "1"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseDG13(b); err == nil {
			_, _ = ParseVNDate(d.DateOfBirth)
		}
	})
}

func FuzzParseSOD(f *testing.F) {
	k, c := testSigner(f)
	raw, err := BuildSOD(SODParams{HashAlg: crypto.SHA256, DataGroups: map[int][]byte{1: DG1Bytes(specimenTD1)}, Signer: k, Cert: c})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := ParseSOD(b); err == nil {
			_, _ = s.SignerCert()
			_, _ = s.X509SignatureAlgorithm()
		}
	})
}

func FuzzParseDG14(f *testing.F) {
	f.Add([]byte{0x6E, 0x02, 0x31, 0x00})
	f.Add(mustDG14(f))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseDG14(b) })
}

func FuzzParseCOM(f *testing.F) {
	f.Add((&Com{LDSVersion: "0107", UnicodeVersion: "040000", DataGroups: []int{1, 2}}).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseCOM(b) })
}

func mustDG14(f *testing.F) []byte {
	b, err := DG14Bytes([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, OIDCAECDHAES128)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseDG3(f *testing.F) {
	f.Add(DG3Bytes([]Finger{{Position: 2, Width: 2, Height: 2, Compression: FingerRaw, Image: []byte{1, 2, 3, 4}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := ParseDG3(b)
		if err != nil {
			return
		}
		for i := range fs {
			if len(fs[i].Image) < 1<<16 {
				_, _ = fs[i].Decode()
			}
		}
	})
}

func FuzzJPEG2000Size(f *testing.F) {
	f.Add(jp2Header(200, 250))
	f.Add(append([]byte{}, J2KSignature...))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, h, err := JPEG2000Size(b)
		if err == nil && (w <= 0 || h <= 0 || w > MaxImageSide || h > MaxImageSide) {
			t.Fatalf("accepted %d×%d", w, h)
		}
	})
}
