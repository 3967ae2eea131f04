// Package record defines the desk's issuance record (schema version 1) and its signed envelope.
//
// A record is encoded as deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding") and
// carried as the payload of a COSE_Sign1 message (RFC 9052 §4.2) signed with the desk's Ed25519
// key (COSE algorithm EdDSA, -8, RFC 9053 §2.2).
//
// # Why COSE_Sign1 plus an RFC 9338 countersignature for the officer
//
// DESIGN.md allows either one COSE_Sign with two signers or a COSE_Sign1 with an officer
// countersignature. We use COSE_Sign1 + a COSE_Countersignature (RFC 9338 §3.1, version 2, header
// label 11) in the unprotected header because:
//   - the desk signature is mandatory and the officer's is optional: every record has the same
//     envelope (COSE_Sign1) whether or not the officer signed, and a verifier that knows only the
//     desk key handles all records the same way;
//   - a V2 countersignature signs the desk's signature bytes too (Countersign_structure's
//     other_fields, RFC 9338 §3.3), so the officer approves exactly this sequenced, chained and
//     desk-signed record, not merely a payload that the desk could re-sign under another sequence;
//     with COSE_Sign the two signatures are independent of each other;
//   - stripping an unprotected countersignature is caught: the signed payload carries the officer's
//     public key whenever the officer countersigned (OfficerKey), and Verify then demands a valid
//     countersignature by that key.
//
// The chain hash of a record is SHA-256 over the whole tagged COSE_Sign1 as stored and sent,
// countersignature included, so editing any byte of record n breaks record n+1's Prev link.
package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	"github.com/veraison/go-cose"
)

// SchemaVersion is the record schema this package writes and the only one it accepts.
const SchemaVersion = 1

// ContentType names the payload in the COSE protected header (label 3, RFC 9052 §3.1).
const ContentType = "application/vnd.enrolldesk.record+cbor;v=1"

// HashSize is the size of a chain hash (SHA-256).
const HashSize = sha256.Size

// MaxEnvelopeSize bounds one signed record. Biometric blobs travel beside the record, not in it,
// so a record holds only DG1, DG13, SOD, the form and hashes.
const MaxEnvelopeSize = 256 << 10

// Hash is a SHA-256 digest.
type Hash [HashSize]byte

// GenesisHash is the Prev of a desk's first record.
var GenesisHash Hash

// Verdict values used in ChipVerdict, FaceResult, FingerResult and Dedup.
const (
	Pass   = "pass"
	Fail   = "fail"
	Absent = "absent" // the check does not exist on this chip or was not run
)

// Form is the citizen's application form.
type Form struct {
	Mobile    string   `cbor:"mobile"`
	Email     string   `cbor:"email,omitempty"`
	Documents []string `cbor:"docs,omitempty"` // documents to integrate (driving licence, health insurance, ...)
	// Representative is set for a minor or a person under guardianship.
	Representative *Representative `cbor:"rep,omitempty"`
}

// Representative is the legal representative who applies on someone's behalf.
type Representative struct {
	IDNumber string `cbor:"id"`
	Name     string `cbor:"name,omitempty"`
	Mobile   string `cbor:"mobile"`
	Relation string `cbor:"rel,omitempty"`
}

// ChipVerdict is the outcome of the chip checks (ICAO 9303 part 11: passive, active and chip
// authentication).
type ChipVerdict struct {
	Access   string `cbor:"access"` // "PACE" or "BAC"
	PA       string `cbor:"pa"`
	AA       string `cbor:"aa"`
	CA       string `cbor:"ca"`
	DSCertID string `cbor:"ds,omitempty"` // document signer certificate id (issuer+serial or SKI, hex)
}

// FaceResult is the 1:1 comparison of the live face with the chip photo.
//
// Engine and ModelSet name the face engine that decided (its Name, e.g.
// "facenet-frfeature-p2+mirror") and its verified model set (SHA-256 hex): Score and Threshold
// only mean something under that pair's calibration. Both are optional (omitted when empty), so
// records signed before they existed keep their exact deterministic encoding and still verify.
type FaceResult struct {
	Score     float64 `cbor:"score"`
	Threshold float64 `cbor:"thr"`
	Decision  string  `cbor:"dec"`
	Liveness  string  `cbor:"live,omitempty"`
	Engine    string  `cbor:"eng,omitempty"`
	ModelSet  string  `cbor:"ms,omitempty"`
}

// FingerResult is one finger's capture and comparison.
type FingerResult struct {
	Position int     `cbor:"pos"` // finger position code, ISO/IEC 19794-2 table 2 (1 right thumb ... 10 left little)
	Quality  int     `cbor:"q"`
	Score    float64 `cbor:"score"`
	Decision string  `cbor:"dec"`
}

// Dedup is the desk's 1:N de-duplication outcome.
type Dedup struct {
	Decision    string   `cbor:"dec"` // "unique", "duplicate" or "review"
	GallerySize int      `cbor:"n"`
	Candidates  []string `cbor:"cand,omitempty"` // record ids of near matches
}

// Consent is the citizen's consent to processing (Decree 13/2023 art. 11).
type Consent struct {
	Given   bool   `cbor:"given"`
	Version string `cbor:"ver"` // version of the consent text shown
	At      int64  `cbor:"at"`  // Unix milliseconds
}

// BlobRef names one biometric blob that travels beside the record, sealed to the registry.
type BlobRef struct {
	Kind       string `cbor:"kind"` // KindPortrait, KindFingerImage, ...
	Format     string `cbor:"fmt"`  // media type or standard, e.g. "image/jpeg", "iso19794-2"
	Position   int    `cbor:"pos,omitempty"`
	Size       int    `cbor:"size"`       // plaintext length
	Plain      Hash   `cbor:"plain"`      // SHA-256 of the plaintext, checkable after unsealing
	Sealed     Hash   `cbor:"sealed"`     // SHA-256 of the sealed bytes, checkable by anyone
	SealedSize int    `cbor:"sealedsize"` // length of the sealed bytes
}

// Blob kinds.
const (
	KindPortrait       = "portrait"
	KindFingerImage    = "finger-image"
	KindFingerTemplate = "finger-template"
	KindFaceDescriptor = "face-descriptor"
)

// Content is everything the desk's workflow fills in. The outbox adds the header fields (id, desk,
// sequence, previous hash, time, blob references) when the record is released.
type Content struct {
	OfficerID string `cbor:"officer"`
	// OfficerKey is the approving officer's Ed25519 public key, set when the officer countersigns;
	// the desk's signature vouches for the binding of officer id and key.
	OfficerKey []byte         `cbor:"officerkey,omitempty"`
	CitizenID  string         `cbor:"citizen"`
	DG1        []byte         `cbor:"dg1"`            // raw DG1 as read from the chip (ICAO 9303 part 10)
	DG13       []byte         `cbor:"dg13,omitempty"` // raw DG13 (Vietnamese data)
	SOD        []byte         `cbor:"sod,omitempty"`  // raw EF.SOD, so HQ can repeat passive authentication
	Form       Form           `cbor:"form"`
	Chip       ChipVerdict    `cbor:"chip"`
	Face       FaceResult     `cbor:"face"`
	Fingers    []FingerResult `cbor:"fingers,omitempty"`
	Dedup      Dedup          `cbor:"dedup"`
	Consent    Consent        `cbor:"consent"`
}

// Record is one issuance record, schema version 1.
type Record struct {
	Version int       `cbor:"v"`
	ID      uuid.UUID `cbor:"id"` // UUIDv7 (RFC 9562 §5.7)
	DeskID  string    `cbor:"desk"`
	Seq     uint64    `cbor:"seq"`  // per-desk sequence, 1, 2, 3, ...
	Prev    Hash      `cbor:"prev"` // chain hash of record Seq-1, GenesisHash for Seq 1
	Time    int64     `cbor:"t"`    // release time, Unix milliseconds UTC
	Content
	Blobs []BlobRef `cbor:"blobs,omitempty"`
}

// NewID returns a fresh UUIDv7.
func NewID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("record id: %w", err)
	}
	return id, nil
}

// TimeOf returns the record's release time.
func (r *Record) TimeOf() time.Time { return time.UnixMilli(r.Time).UTC() }

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   16,
		MaxArrayElements:  4096,
		MaxMapPairs:       256,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes the record as deterministic CBOR.
func Marshal(r *Record) ([]byte, error) {
	b, err := encMode.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return b, nil
}

// Unmarshal decodes a record payload strictly: unknown fields, duplicate keys, indefinite lengths,
// tags and any encoding other than the deterministic one are refused, and so is another schema.
func Unmarshal(b []byte) (*Record, error) {
	var r Record
	if err := decMode.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if r.Version != SchemaVersion {
		return nil, fmt.Errorf("decode record: schema version %d, want %d", r.Version, SchemaVersion)
	}
	again, err := encMode.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("decode record: re-encode: %w", err)
	}
	if !bytes.Equal(again, b) {
		return nil, errors.New("decode record: payload is not in deterministic encoding")
	}
	return &r, nil
}

// Validate checks the header fields and the content for what a record must hold.
func (r *Record) Validate() error {
	switch {
	case r.Version != SchemaVersion:
		return fmt.Errorf("record: schema version %d", r.Version)
	case r.ID.Version() != 7 || r.ID.Variant() != uuid.RFC4122:
		return errors.New("record: id is not a UUIDv7")
	case r.DeskID == "" || len(r.DeskID) > 64:
		return errors.New("record: desk id missing or too long")
	case r.Seq == 0:
		return errors.New("record: sequence must start at 1")
	case r.Seq == 1 && r.Prev != GenesisHash:
		return errors.New("record: first record must chain to the genesis hash")
	case r.OfficerID == "":
		return errors.New("record: officer id missing")
	case r.OfficerKey != nil && len(r.OfficerKey) != ed25519.PublicKeySize:
		return errors.New("record: officer key is not an Ed25519 public key")
	case r.CitizenID == "":
		return errors.New("record: citizen id missing")
	}
	return nil
}

// Signed is a verified record and its chain hash.
type Signed struct {
	Record   *Record
	Envelope []byte // the tagged COSE_Sign1 bytes
	Hash     Hash   // SHA-256(Envelope)
}

// ChainHash is the hash that the next record's Prev must equal.
func ChainHash(envelope []byte) Hash { return sha256.Sum256(envelope) }

// Sign encodes r and signs it with the desk key; if officer is not nil, r.OfficerKey is set to the
// officer's public key and the officer countersigns (RFC 9338 V2).
func Sign(r *Record, desk ed25519.PrivateKey, officer ed25519.PrivateKey) (*Signed, error) {
	if len(desk) != ed25519.PrivateKeySize {
		return nil, errors.New("sign record: desk key is not an Ed25519 private key")
	}
	if officer != nil {
		if len(officer) != ed25519.PrivateKeySize {
			return nil, errors.New("sign record: officer key is not an Ed25519 private key")
		}
		r.OfficerKey = append([]byte(nil), officer.Public().(ed25519.PublicKey)...)
	} else {
		r.OfficerKey = nil
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	payload, err := Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	if len(payload) > MaxEnvelopeSize-512 {
		return nil, fmt.Errorf("sign record: payload of %d bytes is too large", len(payload))
	}
	deskSigner, err := cose.NewSigner(cose.AlgorithmEdDSA, desk)
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelContentType] = ContentType
	msg.Headers.Protected[cose.HeaderLabelKeyID] = []byte(r.DeskID)
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, deskSigner); err != nil {
		return nil, fmt.Errorf("sign record: desk signature: %w", err)
	}
	if officer != nil {
		officerSigner, err := cose.NewSigner(cose.AlgorithmEdDSA, officer)
		if err != nil {
			return nil, fmt.Errorf("sign record: %w", err)
		}
		cs := cose.NewCountersignature()
		cs.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
		cs.Headers.Protected[cose.HeaderLabelKeyID] = []byte(r.OfficerID)
		if err := cs.Sign(rand.Reader, officerSigner, msg, nil); err != nil {
			return nil, fmt.Errorf("sign record: officer countersignature: %w", err)
		}
		msg.Headers.Unprotected[cose.HeaderLabelCounterSignatureV2] = cs
	}
	env, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("sign record: encode envelope: %w", err)
	}
	return &Signed{Record: r, Envelope: env, Hash: ChainHash(env)}, nil
}

// Parse decodes an envelope without checking signatures, for tools that only read (the chain
// verifier reads the desk id before it has a key). Use Verify for anything that trusts the content.
func Parse(envelope []byte) (*Record, *cose.Sign1Message, error) {
	if len(envelope) > MaxEnvelopeSize {
		return nil, nil, fmt.Errorf("parse record: envelope of %d bytes exceeds %d", len(envelope), MaxEnvelopeSize)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(envelope); err != nil {
		return nil, nil, fmt.Errorf("parse record: envelope: %w", err)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil || alg != cose.AlgorithmEdDSA {
		return nil, nil, errors.New("parse record: algorithm is not EdDSA")
	}
	if ct, _ := msg.Headers.Protected[cose.HeaderLabelContentType].(string); ct != ContentType {
		return nil, nil, fmt.Errorf("parse record: content type %q", ct)
	}
	for k := range msg.Headers.Unprotected {
		if k != cose.HeaderLabelCounterSignatureV2 {
			return nil, nil, fmt.Errorf("parse record: unexpected unprotected header %v", k)
		}
	}
	r, err := Unmarshal(msg.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("parse record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, nil, fmt.Errorf("parse record: %w", err)
	}
	if kid, _ := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte); string(kid) != r.DeskID {
		return nil, nil, errors.New("parse record: key id does not name the record's desk")
	}
	return r, &msg, nil
}

// ErrSignature marks a signature or countersignature that does not verify.
var ErrSignature = errors.New("signature does not verify")

// Verify parses an envelope and checks the desk signature with deskKey and, when the payload names
// an officer key, the officer's countersignature with that key. It does not check the chain.
func Verify(envelope []byte, deskKey ed25519.PublicKey) (*Signed, error) {
	if len(deskKey) != ed25519.PublicKeySize {
		return nil, errors.New("verify record: desk key is not an Ed25519 public key")
	}
	r, msg, err := Parse(envelope)
	if err != nil {
		return nil, err
	}
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, deskKey)
	if err != nil {
		return nil, fmt.Errorf("verify record: %w", err)
	}
	if err := msg.Verify(nil, v); err != nil {
		return nil, fmt.Errorf("verify record %d: desk: %w", r.Seq, ErrSignature)
	}
	cs, present := msg.Headers.Unprotected[cose.HeaderLabelCounterSignatureV2]
	switch {
	case r.OfficerKey == nil && present:
		return nil, fmt.Errorf("verify record %d: countersignature present but no officer key in the payload", r.Seq)
	case r.OfficerKey != nil:
		c, ok := cs.(*cose.Countersignature)
		if !ok {
			return nil, fmt.Errorf("verify record %d: officer countersignature missing: %w", r.Seq, ErrSignature)
		}
		ov, err := cose.NewVerifier(cose.AlgorithmEdDSA, ed25519.PublicKey(r.OfficerKey))
		if err != nil {
			return nil, fmt.Errorf("verify record: %w", err)
		}
		if err := c.Verify(ov, msg, nil); err != nil {
			return nil, fmt.Errorf("verify record %d: officer: %w", r.Seq, ErrSignature)
		}
	}
	return &Signed{Record: r, Envelope: envelope, Hash: ChainHash(envelope)}, nil
}
