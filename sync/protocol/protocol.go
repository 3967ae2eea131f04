// Package protocol is the desk↔registry sync API, version 1: the batch a desk uploads, the signed
// receipt the registry answers, and the refusal reasons.
//
//	POST /v1/batches            body: CBOR Batch          → 200 COSE_Sign1(Receipt) | 4xx CBOR Refusal
//	GET  /v1/desks/{id}/head                              → 200 COSE_Sign1(Receipt) with Stored = 0
//
// Bodies are CBOR (RFC 8949, core deterministic encoding; media type application/cbor, RFC 8949
// §9.5). Receipts are COSE_Sign1 (RFC 9052) signed with the registry's Ed25519 key.
package protocol

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/veraison/go-cose"

	"enrolldesk/sync/record"
)

// Version is the API version in every path and body.
const Version = 1

// Paths.
const (
	PathBatches  = "/v1/batches"
	PathDeskHead = "/v1/desks/{id}/head"
)

// MediaType of request and refusal bodies.
const MediaType = "application/cbor"

// ReceiptContentType names a receipt payload in its COSE protected header.
const ReceiptContentType = "application/vnd.enrolldesk.receipt+cbor;v=1"

// Limits of one batch.
const (
	MaxBatchRecords = 5000
	MaxBatchBytes   = 64 << 20
	MaxBlobsPerRec  = 16
)

// Batch is an ordered run of one desk's records with their sealed blobs.
type Batch struct {
	Version int           `cbor:"v"`
	DeskID  string        `cbor:"desk"`
	Records []BatchRecord `cbor:"records"`
	// KnownLog is the size of the last log checkpoint the desk verified (0: none); the receipt
	// proves the new checkpoint consistent with it.
	KnownLog uint64 `cbor:"known,omitempty"`
}

// BatchRecord is one signed record and its sealed blobs, in the order of the record's Blobs.
type BatchRecord struct {
	Envelope []byte   `cbor:"env"`
	Blobs    [][]byte `cbor:"blobs,omitempty"`
}

// Receipt is the registry's signed statement of a desk's stored chain.
type Receipt struct {
	Version int         `cbor:"v"`
	DeskID  string      `cbor:"desk"`
	Seq     uint64      `cbor:"seq"`  // highest contiguous sequence stored for the desk (0: none)
	Head    record.Hash `cbor:"head"` // chain hash of record Seq (zero when Seq is 0)
	Stored  int         `cbor:"stored"`
	Time    int64       `cbor:"t"` // Unix milliseconds
	// Checkpoint is the registry's signed Merkle log checkpoint after this batch (RFC 6962).
	Checkpoint []byte `cbor:"cp,omitempty"`
	// FirstLeaf is the log index of the first newly stored record; Inclusion[i] proves record
	// Seq-Stored+1+i at leaf FirstLeaf+i in the checkpoint's tree.
	FirstLeaf uint64     `cbor:"leaf,omitempty"`
	Inclusion [][][]byte `cbor:"incl,omitempty"`
	// Consistency proves the checkpoint's tree extends the one of the size the desk named.
	Consistency [][]byte `cbor:"cons,omitempty"`
}

// CheckpointContentType names a checkpoint payload in its COSE protected header.
const CheckpointContentType = "application/vnd.enrolldesk.checkpoint+cbor;v=1"

// Checkpoint is a signed statement of the registry log's size and RFC 6962 root.
type Checkpoint struct {
	Version int         `cbor:"v"`
	Size    uint64      `cbor:"size"`
	Root    record.Hash `cbor:"root"`
	Time    int64       `cbor:"t"`
}

// SignCheckpoint signs a checkpoint with the registry key.
func SignCheckpoint(c *Checkpoint, key ed25519.PrivateKey) ([]byte, error) {
	return signCOSE(c, key, CheckpointContentType)
}

// VerifyCheckpoint checks a checkpoint's signature.
func VerifyCheckpoint(b []byte, registry ed25519.PublicKey) (*Checkpoint, error) {
	var c Checkpoint
	if err := verifyCOSE(b, registry, CheckpointContentType, &c); err != nil {
		return nil, fmt.Errorf("verify checkpoint: %w", err)
	}
	if c.Version != Version {
		return nil, fmt.Errorf("verify checkpoint: version %d", c.Version)
	}
	return &c, nil
}

func signCOSE(v any, key ed25519.PrivateKey, contentType string) ([]byte, error) {
	payload, err := EncMode.Marshal(v)
	if err != nil {
		return nil, err
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, err
	}
	h := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm:   cose.AlgorithmEdDSA,
		cose.HeaderLabelContentType: contentType,
	}}
	return cose.Sign1(rand.Reader, signer, h, payload, nil)
}

func verifyCOSE(b []byte, key ed25519.PublicKey, contentType string, v any) error {
	if len(b) > MaxReceiptBytes {
		return errors.New("too large")
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(b); err != nil {
		return err
	}
	if ct, _ := msg.Headers.Protected[cose.HeaderLabelContentType].(string); ct != contentType {
		return fmt.Errorf("content type %q", ct)
	}
	verifier, err := cose.NewVerifier(cose.AlgorithmEdDSA, key)
	if err != nil {
		return err
	}
	if err := msg.Verify(nil, verifier); err != nil {
		return record.ErrSignature
	}
	return DecMode.Unmarshal(msg.Payload, v)
}

// LogHasher is the RFC 6962 §2.1 hasher of the registry log: leaf = SHA-256(0x00 || data),
// node = SHA-256(0x01 || left || right).
var LogHasher = rfc6962.DefaultHasher

// LeafHash is the log leaf of a record: the RFC 6962 leaf hash of its chain hash.
func LeafHash(chain record.Hash) record.Hash {
	var h record.Hash
	copy(h[:], LogHasher.HashLeaf(chain[:]))
	return h
}

// ErrLogInconsistent means the registry's log does not extend what the desk saw before, or a
// record is not in it: the registry rewrote history.
var ErrLogInconsistent = errors.New("registry log is inconsistent with what this desk verified")

// VerifyLog checks a receipt's log part against the checkpoint the desk last verified (prev, nil
// for none) and the chain hashes of the records the receipt says were newly stored (fresh, in
// order). It returns the new checkpoint.
func VerifyLog(rc *Receipt, registry ed25519.PublicKey, prev *Checkpoint, fresh []record.Hash) (*Checkpoint, error) {
	if len(rc.Checkpoint) == 0 {
		return nil, fmt.Errorf("%w: receipt without a checkpoint", ErrLogInconsistent)
	}
	cp, err := VerifyCheckpoint(rc.Checkpoint, registry)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		switch {
		case cp.Size < prev.Size:
			return nil, fmt.Errorf("%w: log shrank from %d to %d", ErrLogInconsistent, prev.Size, cp.Size)
		case cp.Size == prev.Size && cp.Root != prev.Root:
			return nil, fmt.Errorf("%w: two roots for size %d", ErrLogInconsistent, cp.Size)
		case cp.Size > prev.Size && prev.Size > 0:
			if err := proof.VerifyConsistency(LogHasher, prev.Size, cp.Size, rc.Consistency, prev.Root[:], cp.Root[:]); err != nil {
				return nil, fmt.Errorf("%w: consistency %d→%d: %v", ErrLogInconsistent, prev.Size, cp.Size, err)
			}
		}
	}
	if len(rc.Inclusion) != len(fresh) {
		return nil, fmt.Errorf("%w: %d inclusion proofs for %d new records", ErrLogInconsistent, len(rc.Inclusion), len(fresh))
	}
	for i, h := range fresh {
		leaf := LeafHash(h)
		if err := proof.VerifyInclusion(LogHasher, rc.FirstLeaf+uint64(i), cp.Size, leaf[:], rc.Inclusion[i], cp.Root[:]); err != nil {
			return nil, fmt.Errorf("%w: record %d not in the log: %v", ErrLogInconsistent, i, err)
		}
	}
	return cp, nil
}

// MaxReceiptBytes bounds a receipt (inclusion proofs for MaxBatchRecords records fit).
const MaxReceiptBytes = 8 << 20

// Reason is why the registry refused a batch.
type Reason string

// Refusal reasons.
const (
	ReasonBadRequest   Reason = "bad-request"   // not a version-1 batch
	ReasonTooLarge     Reason = "too-large"     // over MaxBatchBytes or MaxBatchRecords
	ReasonUnknownDesk  Reason = "unknown-desk"  // the registry never provisioned this desk
	ReasonDeskMismatch Reason = "desk-mismatch" // the TLS client is another desk, or a record names another desk
	ReasonBadSignature Reason = "bad-signature" // a desk signature or officer countersignature fails
	ReasonBadRecord    Reason = "bad-record"    // a record does not parse or validate
	ReasonBadBlob      Reason = "bad-blob"      // a sealed blob is missing or does not match its hash
	ReasonOrder        Reason = "order"         // records in the batch are not consecutive
	ReasonBrokenChain  Reason = "broken-chain"  // a record's prev hash is not its predecessor's hash
	ReasonGap          Reason = "gap"           // the batch starts past the registry's head + 1
	ReasonFork         Reason = "fork"          // a record differs from the one stored at its sequence
	ReasonDuplicateID  Reason = "duplicate-id"  // the record id is already stored under another sequence
	ReasonUnavailable  Reason = "unavailable"   // storage failed; retry later
	ReasonRevoked      Reason = "revoked"       // the registry operator revoked this desk; Detail says why
	ReasonBadCSR       Reason = "bad-csr"       // a certificate request does not parse, is not self-signed or names another desk or key
)

// Refusal is the body of a 4xx/5xx answer.
type Refusal struct {
	Reason Reason `cbor:"reason"`
	Seq    uint64 `cbor:"seq,omitempty"` // the record concerned, when there is one
	Head   uint64 `cbor:"head"`          // the registry's head for the desk, so the desk can resume
	Detail string `cbor:"detail,omitempty"`
}

func (r *Refusal) Error() string {
	s := fmt.Sprintf("registry refused the batch: %s", r.Reason)
	if r.Seq != 0 {
		s += fmt.Sprintf(" at sequence %d", r.Seq)
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

// Retryable reports whether sending again later can succeed without the desk changing anything.
func (r *Refusal) Retryable() bool { return r.Reason == ReasonUnavailable }

var (
	// EncMode is the core deterministic CBOR encoding used for every body.
	EncMode cbor.EncMode
	// DecMode decodes bodies strictly and within limits.
	DecMode cbor.DecMode
)

func init() {
	var err error
	EncMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	DecMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   8,
		MaxArrayElements:  MaxBatchRecords,
		MaxMapPairs:       64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// DecodeBatch decodes and shape-checks a batch body.
func DecodeBatch(b []byte) (*Batch, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("decode batch: %d bytes exceeds %d", len(b), MaxBatchBytes)
	}
	var bt Batch
	if err := DecMode.Unmarshal(b, &bt); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	switch {
	case bt.Version != Version:
		return nil, fmt.Errorf("decode batch: version %d, want %d", bt.Version, Version)
	case bt.DeskID == "":
		return nil, errors.New("decode batch: no desk id")
	case len(bt.Records) == 0:
		return nil, errors.New("decode batch: no records")
	}
	for i, r := range bt.Records {
		if len(r.Envelope) == 0 || len(r.Envelope) > record.MaxEnvelopeSize {
			return nil, fmt.Errorf("decode batch: record %d: envelope size %d", i, len(r.Envelope))
		}
		if len(r.Blobs) > MaxBlobsPerRec {
			return nil, fmt.Errorf("decode batch: record %d: %d blobs", i, len(r.Blobs))
		}
	}
	return &bt, nil
}

// SignReceipt signs a receipt with the registry key.
func SignReceipt(r *Receipt, key ed25519.PrivateKey) ([]byte, error) {
	b, err := signCOSE(r, key, ReceiptContentType)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	return b, nil
}

// VerifyReceipt checks a receipt's signature with the registry's public key and that it speaks of
// the expected desk.
func VerifyReceipt(b []byte, registry ed25519.PublicKey, deskID string) (*Receipt, error) {
	var r Receipt
	if err := verifyCOSE(b, registry, ReceiptContentType, &r); err != nil {
		return nil, fmt.Errorf("verify receipt: %w", err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("verify receipt: version %d", r.Version)
	}
	if r.DeskID != deskID {
		return nil, fmt.Errorf("verify receipt: names desk %q, want %q", r.DeskID, deskID)
	}
	return &r, nil
}

// DecodeRefusal decodes a refusal body.
func DecodeRefusal(b []byte) (*Refusal, error) {
	var r Refusal
	if err := DecMode.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode refusal: %w", err)
	}
	if r.Reason == "" {
		return nil, errors.New("decode refusal: no reason")
	}
	return &r, nil
}

// PathDeskCert is where a desk renews its TLS client certificate over mutual TLS with the current
// one: POST a PKCS#10 certificate request (RFC 2986, DER) for the desk's own Ed25519 key, signed by
// that key, with CN = desk id; the answer is a CertRenewal.
const PathDeskCert = "/v1/desks/{id}/cert"

// MediaCSR is the media type of a DER certificate request (RFC 5967).
const MediaCSR = "application/pkcs10"

// CertRenewal is the registry's answer to a certificate request.
type CertRenewal struct {
	Version     int    `cbor:"v"`
	DeskID      string `cbor:"desk"`
	Certificate []byte `cbor:"cert"` // X.509 DER, CN = desk id, issued by the registry CA
	CA          []byte `cbor:"ca"`   // the registry CA certificate, DER
}

// PathProvision is where a desk enrols (no client certificate yet).
const PathProvision = "/v1/provision"

// ProvisionRequest asks the registry to register a desk key and issue its TLS client certificate.
type ProvisionRequest struct {
	Version   int    `cbor:"v"`
	DeskID    string `cbor:"desk"`
	PublicKey []byte `cbor:"pub"`   // the desk's Ed25519 key: signs records and authenticates TLS
	Token     string `cbor:"token"` // from the registry operator, for this desk id
	Proof     []byte `cbor:"proof"` // Ed25519 signature over ProvisionProofMessage: proves possession
}

// ProvisionResponse is the desk's enrolment bundle.
type ProvisionResponse struct {
	Version     int    `cbor:"v"`
	DeskID      string `cbor:"desk"`
	Certificate []byte `cbor:"cert"`   // X.509 DER, CN = desk id, issued by CA
	CA          []byte `cbor:"ca"`     // the registry CA certificate, DER
	ReceiptKey  []byte `cbor:"rkey"`   // Ed25519 key that signs receipts
	SealTo      string `cbor:"sealto"` // age X25519 recipient for biometric blobs
}

// ProvisionProofMessage is what the desk signs to prove it holds its key.
func ProvisionProofMessage(deskID, token string, pub []byte) []byte {
	m := []byte("enrolldesk provision v1\x00" + deskID + "\x00" + token + "\x00")
	return append(m, pub...)
}

// PathBundles serves signed down-sync bundles of one kind: GET /v1/bundles/{kind}?since=SERIAL
// answers a CBOR array of COSE_Sign1 bundles newer than SERIAL that apply to the calling desk.
const PathBundles = "/v1/bundles/{kind}"

// BundleContentType names a bundle payload in its COSE protected header.
const BundleContentType = "application/vnd.enrolldesk.bundle+cbor;v=1"

// Bundle kinds.
const (
	BundleCSCA     = "csca-masterlist" // ICAO master list of CSCA certificates (ICAO 9303 part 12)
	BundleCRL      = "crl"             // CSCA certificate revocation lists
	BundleOfficers = "officers"        // the officers allowed at the desk and their roles
	BundleSettings = "settings"        // desk settings and thresholds
	BundleGallery  = "gallery-delta"   // de-duplication gallery changes for one desk
)

// MaxBundlesPerAnswer bounds one down-sync answer; the desk asks again from the last serial.
const MaxBundlesPerAnswer = 100

// Bundle is one signed down-sync item. Serials grow per kind; a desk applies bundles in serial
// order and never accepts one at or below the serial it holds (no rollback).
type Bundle struct {
	Version int    `cbor:"v"`
	Kind    string `cbor:"kind"`
	Serial  uint64 `cbor:"serial"`
	Desk    string `cbor:"desk,omitempty"` // empty: for every desk
	Time    int64  `cbor:"t"`
	Content []byte `cbor:"content"`
}

// KnownBundle reports whether kind is a bundle kind of protocol version 1.
func KnownBundle(kind string) bool {
	switch kind {
	case BundleCSCA, BundleCRL, BundleOfficers, BundleSettings, BundleGallery:
		return true
	}
	return false
}

// SignBundle signs a bundle with the registry key.
func SignBundle(b *Bundle, key ed25519.PrivateKey) ([]byte, error) {
	out, err := signCOSE(b, key, BundleContentType)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	return out, nil
}

// VerifyBundle checks a bundle's signature, kind and addressee, and that its serial is newer
// than the one the desk holds.
func VerifyBundle(b []byte, registry ed25519.PublicKey, kind, deskID string, have uint64) (*Bundle, error) {
	var bd Bundle
	if err := verifyCOSE(b, registry, BundleContentType, &bd); err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	switch {
	case bd.Version != Version:
		return nil, fmt.Errorf("verify bundle: version %d", bd.Version)
	case bd.Kind != kind:
		return nil, fmt.Errorf("verify bundle: kind %q, asked for %q", bd.Kind, kind)
	case bd.Desk != "" && bd.Desk != deskID:
		return nil, fmt.Errorf("verify bundle: addressed to desk %q", bd.Desk)
	case bd.Serial <= have:
		return nil, fmt.Errorf("verify bundle: serial %d is not newer than %d (rollback)", bd.Serial, have)
	}
	return &bd, nil
}
