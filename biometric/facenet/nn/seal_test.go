package nn

import "crypto/sha256"

// seal replaces the trailing digest of b with the correct one, so fuzzed EDNN bodies reach the
// header and tensor-table checks.
func seal(b []byte) []byte {
	if len(b) < sha256.Size {
		return b
	}
	body := append([]byte{}, b[:len(b)-sha256.Size]...)
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}
