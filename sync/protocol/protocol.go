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
	// Checkpoint is the registry's Merkle log state after this batch (RFC 6962), when it keeps one.
	Checkpoint []byte `cbor:"cp,omitempty"`
}

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
	payload, err := EncMode.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	h := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm:   cose.AlgorithmEdDSA,
		cose.HeaderLabelContentType: ReceiptContentType,
	}}
	out, err := cose.Sign1(rand.Reader, signer, h, payload, nil)
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	return out, nil
}

// VerifyReceipt checks a receipt's signature with the registry's public key and that it speaks of
// the expected desk.
func VerifyReceipt(b []byte, registry ed25519.PublicKey, deskID string) (*Receipt, error) {
	if len(b) > 1<<20 {
		return nil, errors.New("verify receipt: too large")
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(b); err != nil {
		return nil, fmt.Errorf("verify receipt: %w", err)
	}
	if ct, _ := msg.Headers.Protected[cose.HeaderLabelContentType].(string); ct != ReceiptContentType {
		return nil, fmt.Errorf("verify receipt: content type %q", ct)
	}
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, registry)
	if err != nil {
		return nil, fmt.Errorf("verify receipt: %w", err)
	}
	if err := msg.Verify(nil, v); err != nil {
		return nil, fmt.Errorf("verify receipt: %w", record.ErrSignature)
	}
	var r Receipt
	if err := DecMode.Unmarshal(msg.Payload, &r); err != nil {
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
