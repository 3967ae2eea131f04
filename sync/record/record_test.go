package record_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/record"
)

func newRecord(t *testing.T, seq uint64, prev record.Hash) *record.Record {
	t.Helper()
	id, err := record.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return &record.Record{Version: record.SchemaVersion, ID: id, DeskID: "desk-01", Seq: seq, Prev: prev,
		Time: 1_760_000_000_000, Content: synctest.Content(int(seq))}
}

func keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestSignVerifyRoundTrip(t *testing.T) {
	deskPub, desk := keys(t)
	_, officer := keys(t)
	for _, withOfficer := range []bool{false, true} {
		var off ed25519.PrivateKey
		if withOfficer {
			off = officer
		}
		r := newRecord(t, 1, record.GenesisHash)
		s, err := record.Sign(r, desk, off)
		if err != nil {
			t.Fatal(err)
		}
		v, err := record.Verify(s.Envelope, deskPub)
		if err != nil {
			t.Fatalf("officer=%v: %v", withOfficer, err)
		}
		if v.Hash != s.Hash || v.Record.CitizenID != r.CitizenID || v.Record.ID != r.ID || !bytes.Equal(v.Record.DG13, r.DG13) {
			t.Fatalf("round trip changed the record")
		}
		if withOfficer != (v.Record.OfficerKey != nil) {
			t.Fatalf("officer key presence = %v, want %v", v.Record.OfficerKey != nil, withOfficer)
		}
		if v.Record.ID.Version() != 7 {
			t.Fatalf("id version %d", v.Record.ID.Version())
		}
	}
}

func TestDeterministicPayload(t *testing.T) {
	r := newRecord(t, 3, record.Hash{1})
	a, err := record.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := record.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings differ")
	}
	// Map keys must be sorted bytewise (RFC 8949 §4.2.1): decode generically, re-encode with the
	// core deterministic mode, compare.
	var generic any
	if err := cbor.Unmarshal(a, &generic); err != nil {
		t.Fatal(err)
	}
	em, _ := cbor.CoreDetEncOptions().EncMode()
	c, err := em.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Fatal("payload is not in core deterministic encoding")
	}
	// A non-deterministic encoding of the same record (keys in another order) is refused.
	m := generic.(map[any]any)
	enc, _ := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
	for i := 0; i < 20; i++ {
		d, err := enc.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d, a) {
			if _, err := record.Unmarshal(d); err == nil {
				t.Fatal("non-deterministic payload accepted")
			}
			return
		}
	}
	t.Fatal("could not produce a non-deterministic encoding")
}

func TestVerifyRefuses(t *testing.T) {
	deskPub, desk := keys(t)
	otherPub, _ := keys(t)
	_, officer := keys(t)
	_, intruder := keys(t)
	r := newRecord(t, 5, record.Hash{9})
	s, err := record.Sign(r, desk, officer)
	if err != nil {
		t.Fatal(err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(s.Envelope); err != nil {
		t.Fatal(err)
	}

	stripped := msg
	stripped.Headers.Unprotected = cose.UnprotectedHeader{}
	stripped.Headers.RawUnprotected = nil
	strippedEnv, _ := stripped.MarshalCBOR()

	// The intruder countersigns instead of the named officer.
	swapped := msg
	cs := cose.NewCountersignature()
	cs.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	sg, _ := cose.NewSigner(cose.AlgorithmEdDSA, intruder)
	if err := cs.Sign(rand.Reader, sg, msg, nil); err != nil {
		t.Fatal(err)
	}
	swapped.Headers.Unprotected = cose.UnprotectedHeader{cose.HeaderLabelCounterSignatureV2: cs}
	swapped.Headers.RawUnprotected = nil
	swappedEnv, _ := swapped.MarshalCBOR()

	tampered := bytes.Clone(s.Envelope)
	i := bytes.Index(tampered, []byte(r.CitizenID))
	tampered[i] ^= 1

	cases := map[string]struct {
		env []byte
		key ed25519.PublicKey
		sig bool
	}{
		"wrong desk key":            {s.Envelope, otherPub, true},
		"countersignature stripped": {strippedEnv, deskPub, true},
		"countersignature swapped":  {swappedEnv, deskPub, true},
		"payload tampered":          {tampered, deskPub, true},
		"truncated":                 {s.Envelope[:len(s.Envelope)-3], deskPub, false},
		"empty":                     {nil, deskPub, false},
	}
	for name, c := range cases {
		_, err := record.Verify(c.env, c.key)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if c.sig && !errors.Is(err, record.ErrSignature) {
			t.Errorf("%s: error %v, want a signature error", name, err)
		}
	}
}

func TestSignRefusesBadRecords(t *testing.T) {
	_, desk := keys(t)
	bad := []func(r *record.Record){
		func(r *record.Record) { r.Seq = 0 },
		func(r *record.Record) { r.Seq = 1; r.Prev = record.Hash{1} },
		func(r *record.Record) { r.CitizenID = "" },
		func(r *record.Record) { r.OfficerID = "" },
		func(r *record.Record) { r.DeskID = "" },
		func(r *record.Record) { r.Version = 2 },
		func(r *record.Record) { r.ID[6] = 0x40 }, // version 4
	}
	for i, f := range bad {
		r := newRecord(t, 2, record.Hash{2})
		f(r)
		if _, err := record.Sign(r, desk, nil); err == nil {
			t.Errorf("case %d: signed", i)
		}
	}
}

func TestSealUnseal(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := synctest.Blobs(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		sealed, ref, err := record.Seal(id.Recipient(), b)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, b.Data[:64]) {
			t.Fatal("sealed bytes hold the plaintext")
		}
		got, err := record.Unseal(id, ref, sealed)
		if err != nil || !bytes.Equal(got, b.Data) {
			t.Fatalf("unseal: %v", err)
		}
		sealed[len(sealed)-1] ^= 1
		if _, err := record.Unseal(id, ref, sealed); err == nil {
			t.Fatal("tampered blob unsealed")
		}
	}
	other, _ := age.GenerateX25519Identity()
	sealed, ref, _ := record.Seal(id.Recipient(), blobs[0])
	if _, err := record.Unseal(other, ref, sealed); err == nil {
		t.Fatal("unsealed with the wrong identity")
	}
}

func FuzzParse(f *testing.F) {
	_, desk := keys(&testing.T{})
	_, officer := keys(&testing.T{})
	id, _ := record.NewID()
	for i, off := range []ed25519.PrivateKey{nil, officer} {
		r := &record.Record{Version: 1, ID: id, DeskID: "d", Seq: uint64(i + 1), Time: 1, Content: synctest.Content(i)}
		if i > 0 {
			r.Prev = record.Hash{1}
		}
		s, err := record.Sign(r, desk, off)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.Envelope)
	}
	pub := desk.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := record.Parse(b)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed record does not validate: %v", err)
		}
		_, _ = record.Verify(b, pub)
	})
}

// faceKeys returns the CBOR keys of a signed record's face result, as encoded.
func faceKeys(t *testing.T, envelope []byte) map[string]any {
	t.Helper()
	r, _, err := record.Parse(envelope)
	if err != nil {
		t.Fatal(err)
	}
	b, err := record.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := cbor.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	f, ok := generic["face"].(map[any]any) // Content is embedded in the record's map
	if !ok {
		t.Fatalf("no face map: %T", generic["face"])
	}
	out := map[string]any{}
	for k, v := range f {
		out[k.(string)] = v
	}
	return out
}

// A record without the face engine (as every record signed before the field existed) encodes
// exactly the old face keys and verifies; one with them round-trips them.
func TestFaceEngineOptional(t *testing.T) {
	deskPub, desk := keys(t)
	old := newRecord(t, 1, record.GenesisHash)
	old.Content.Face.Engine, old.Content.Face.ModelSet = "", ""
	s, err := record.Sign(old, desk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := record.Verify(s.Envelope, deskPub); err != nil {
		t.Fatalf("record without the face engine: %v", err)
	}
	keys := faceKeys(t, s.Envelope)
	for _, k := range []string{"eng", "ms"} {
		if _, ok := keys[k]; ok {
			t.Fatalf("an empty %q is encoded: %v", k, keys)
		}
	}
	if len(keys) != 4 {
		t.Fatalf("face keys %v, want the old four (score, thr, dec, live)", keys)
	}

	r := newRecord(t, 2, s.Hash)
	r.Content.Face.Engine = "facenet-frfeature-p2+mirror"
	r.Content.Face.ModelSet = "096feec3a83bca73a811628ac0035db179e536d111a1b67ea5186d4f172481c1"
	s2, err := record.Sign(r, desk, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := record.Verify(s2.Envelope, deskPub)
	if err != nil {
		t.Fatal(err)
	}
	if v.Record.Content.Face != r.Content.Face {
		t.Fatalf("face result %+v, signed %+v", v.Record.Content.Face, r.Content.Face)
	}
	if k := faceKeys(t, s2.Envelope); k["eng"] != r.Content.Face.Engine || k["ms"] != r.Content.Face.ModelSet {
		t.Fatalf("face keys %v", k)
	}
}
