package index

import (
	"crypto/ed25519"
	"testing"
)

// FuzzOpenDelta feeds arbitrary bytes to the delta parser. With the signature check in front, the
// fuzzer mostly exercises the envelope; FuzzDeltaPayload below reaches the CBOR decoding.
func FuzzOpenDelta(f *testing.F) {
	key := testRegistryKey(1)
	good, err := SignDelta(sampleDelta(f, 1), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:40])
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := OpenDelta(b, pub)
		if err == nil && d.check() != nil {
			t.Fatal("accepted an invalid delta")
		}
	})
}

// FuzzDeltaPayload signs arbitrary payloads with the test key, so the CBOR decoding and the
// content checks behind the signature get fuzzed too.
func FuzzDeltaPayload(f *testing.F) {
	key := testRegistryKey(1)
	good, err := SignDelta(sampleDelta(f, 1), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[9 : len(good)-64])
	// A delta in facenet's space (512-d faces naming their engine).
	s := newSynthFor(2, FacenetSpace)
	c := s.identity()
	net, err := SignDelta(&Delta{Gallery: "g", Seq: 1, FaceEngine: "facenet-x@1", Faces: []FaceEntry{{ID: "a", Person: "p", Descriptor: s.sample(&c)}}}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(net[9 : len(net)-64])
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 1<<20 {
			return
		}
		b := append([]byte(deltaMagic), byte(len(payload)>>24), byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload)))
		b = append(b, payload...)
		b = append(b, ed25519.Sign(key, signedBytes(payload))...)
		d, err := OpenDelta(b, pub)
		if err != nil {
			return
		}
		if d.check() != nil {
			t.Fatal("accepted an invalid delta")
		}
		if _, err := SignDelta(d, key); err != nil {
			t.Fatalf("accepted delta does not re-sign: %v", err)
		}
	})
}
