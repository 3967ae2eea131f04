package pace

import (
	"bytes"
	"crypto/aes"
	"errors"
	"fmt"
	"math/big"

	"enrolldesk/reader/sm"
)

// PACE with the chip authentication mapping (PACE-CAM): ICAO Doc 9303 part 11 §4.4.3.3.3 and
// §4.4.3.5, BSI TR-03110 part 2 §3.4.2. The mapping is the generic one; at the end of the mutual
// authentication the chip adds its encrypted chip authentication data A_IC = E(KSEnc, CA_IC) with
// CA_IC = SK_IC⁻¹ · SK_Map,IC mod n. The terminal decrypts it and checks
// PK_Map,IC = CA_IC · PK_IC with the static key PK_IC of the (passively authenticated) DG14: only a
// chip that holds SK_IC can produce a CA_IC that passes, so no separate chip authentication is
// needed.

// ErrCAM means the chip authentication data of PACE-CAM does not match the chip's static key.
var ErrCAM = errors.New("pace: PACE-CAM chip authentication data does not match the DG14 key")

// maxCAMData bounds A_IC: a 521-bit order padded to whole AES blocks needs 80 bytes.
const maxCAMData = 128

// CAMData is the decrypted chip authentication data of a PACE-CAM run and the chip's mapping key
// it must explain.
type CAMData struct {
	Curve *Curve
	// CA is CA_IC, in [1, n).
	CA *big.Int
	// MapPK is PK_Map,IC, the chip's ephemeral key of the generic mapping.
	MapPK Point
}

// camIV is the IV of the chip authentication data: E(KSEnc, −1), −1 being the 128-bit string of
// all ones (part 11 §4.4.3.5.4).
func camIV(kenc []byte) ([]byte, error) {
	b, err := aes.NewCipher(kenc)
	if err != nil {
		return nil, err
	}
	iv := bytes.Repeat([]byte{0xFF}, aes.BlockSize)
	b.Encrypt(iv, iv)
	return iv, nil
}

// DecryptCAMData decrypts A_IC with KSEnc (AES-CBC, IV E(KSEnc, −1), ISO/IEC 9797-1 padding
// method 2; part 11 §4.4.3.5.3–4) and decodes CA_IC, encoded by FE2OS at the group order's length
// (part 11 §4.4.5.6, BSI TR-03111 §3.1.3). MapPK is left for the caller.
func DecryptCAMData(c *Curve, kenc, a []byte) (*CAMData, error) {
	if len(a) == 0 || len(a)%aes.BlockSize != 0 || len(a) > maxCAMData {
		return nil, fmt.Errorf("pace: PACE-CAM chip authentication data of %d bytes", len(a))
	}
	iv, err := camIV(kenc)
	if err != nil {
		return nil, fmt.Errorf("pace: PACE-CAM: %w", err)
	}
	b, err := aes.NewCipher(kenc)
	if err != nil {
		return nil, fmt.Errorf("pace: PACE-CAM: %w", err)
	}
	plain, err := sm.CBCDecrypt(b, iv, a)
	if err != nil {
		return nil, fmt.Errorf("pace: PACE-CAM chip authentication data: %w", err)
	}
	if plain, err = sm.Unpad(plain); err != nil {
		return nil, fmt.Errorf("pace: PACE-CAM chip authentication data: %w", err)
	}
	if size := (c.N.BitLen() + 7) / 8; len(plain) != size {
		return nil, fmt.Errorf("pace: PACE-CAM chip authentication data of %d bytes, want %d", len(plain), size)
	}
	ca := new(big.Int).SetBytes(plain)
	if ca.Sign() == 0 || ca.Cmp(c.N) >= 0 {
		return nil, errors.New("pace: PACE-CAM chip authentication data out of range")
	}
	return &CAMData{Curve: c, CA: ca}, nil
}

// Verify checks PK_Map,IC = CA_IC · PK_IC (part 11 §4.4.3.5.2) for the chip's static key pkIC on
// curve c (from DG14, whose hash the SOD must vouch for). Comparing whole points is stricter than
// the x-coordinate that KA yields.
func (d *CAMData) Verify(c *Curve, pkIC Point) error {
	if c != d.Curve {
		return fmt.Errorf("%w: the DG14 key is on %s, PACE ran on %s", ErrCAM, c.Name, d.Curve.Name)
	}
	if pkIC.Inf || !c.OnCurve(pkIC) {
		return fmt.Errorf("%w: the DG14 key is not a point of %s", ErrCAM, c.Name)
	}
	got := c.ScalarMult(d.CA, pkIC)
	if got.Inf || d.MapPK.Inf || !got.Equal(d.MapPK) {
		return ErrCAM
	}
	return nil
}

// CAMData is the chip's side: after Mutual, A_IC = E(KSEnc, FE2OS(SK_IC⁻¹ · SK_Map,IC mod n)).
func (ch *Chip) CAMData() ([]byte, error) {
	if !ch.Info.CAM() {
		return nil, errors.New("pace: chip authentication data without PACE-CAM")
	}
	if ch.sess == nil || ch.skMap == nil || ch.CAMKey == nil {
		return nil, errors.New("pace: chip authentication data before mutual authentication")
	}
	eg, ok := ch.g.(ecGroup)
	if !ok {
		return nil, errors.New("pace: PACE-CAM needs an elliptic curve")
	}
	n := eg.c.N
	sk := new(big.Int).Set(ch.CAMKey)
	if ch.CAMLie {
		sk.Add(sk, big.NewInt(1))
	}
	inv := new(big.Int).ModInverse(sk, n)
	if inv == nil {
		return nil, errors.New("pace: chip authentication key not invertible")
	}
	ca := inv.Mul(inv, ch.skMap)
	ca.Mod(ca, n)
	enc := ca.FillBytes(make([]byte, (n.BitLen()+7)/8))
	iv, err := camIV(ch.kenc)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(ch.kenc)
	if err != nil {
		return nil, err
	}
	return sm.CBCEncrypt(b, iv, sm.Pad(enc, aes.BlockSize)), nil
}
