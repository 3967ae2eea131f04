// Package pa proves a chip's data genuine: passive authentication (ICAO Doc 9303 part 11 §5.1 and
// part 12) against a CSCA trust store, and the Verdict type that records which checks ran, passed,
// failed or were unavailable, with reasons, for the desk's issuance record.
package pa

import (
	"fmt"
	"strings"
)

// Status of one check.
type Status string

// Check outcomes.
const (
	Passed      Status = "passed"
	Failed      Status = "failed"
	Unavailable Status = "unavailable" // the check could not run (no data, no key, not supported)
)

// Check is one named check and its outcome.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Verdict is the record of everything that was checked about one chip.
type Verdict struct {
	Checks []Check `json:"checks"`
	// DocumentSigner and CSCA identify the certificates used (subject and serial), when found.
	DocumentSigner string `json:"document_signer,omitempty"`
	CSCA           string `json:"csca,omitempty"`
	// ChipAuthMethod says how chip authentication ran when it did: ChipAuthSeparate or
	// ChipAuthPACECAM.
	ChipAuthMethod string `json:"chip_auth_method,omitempty"`
}

// Chip authentication methods (Verdict.ChipAuthMethod).
const (
	// ChipAuthSeparate is chip authentication as its own protocol after access control (ICAO Doc
	// 9303 part 11 §6.2): new secure messaging keys only the chip holding the DG14 key can use.
	ChipAuthSeparate = "chip_authentication"
	// ChipAuthPACECAM is PACE with the chip authentication mapping (part 11 §4.4.3.5): the chip's
	// authentication data sent during PACE matched the DG14 key.
	ChipAuthPACECAM = "pace_cam"
)

// Add records a check.
func (v *Verdict) Add(name string, s Status, reason string) {
	v.Checks = append(v.Checks, Check{Name: name, Status: s, Reason: reason})
}

// Addf records a check with a formatted reason.
func (v *Verdict) Addf(name string, s Status, format string, args ...any) {
	v.Add(name, s, fmt.Sprintf(format, args...))
}

// Get returns the named check.
func (v *Verdict) Get(name string) (Check, bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Failed lists the checks that failed.
func (v *Verdict) Failed() []Check {
	var out []Check
	for _, c := range v.Checks {
		if c.Status == Failed {
			out = append(out, c)
		}
	}
	return out
}

// Mandatory checks of passive authentication: all must have passed for the chip data to count as
// genuine (CCCD's BAC key is guessable, so passive authentication is never optional at the desk).
var Mandatory = []string{CheckSODSignature, CheckSODDigest, CheckSODContentType, CheckDSChain, CheckDSValidity, CheckCSCAValidity}

// PassiveOK reports whether every mandatory passive-authentication check and every data group
// hash check passed.
func (v *Verdict) PassiveOK() bool {
	for _, name := range Mandatory {
		if c, ok := v.Get(name); !ok || c.Status != Passed {
			return false
		}
	}
	hashes := 0
	for _, c := range v.Checks {
		if strings.HasPrefix(c.Name, CheckDGHashPrefix) {
			hashes++
			if c.Status != Passed {
				return false
			}
		}
	}
	return hashes > 0
}

// Genuine is PassiveOK with no failed check of any kind (active or chip authentication included).
func (v *Verdict) Genuine() bool { return v.PassiveOK() && len(v.Failed()) == 0 }

// Check names.
const (
	CheckAccessControl  = "access_control"
	CheckSODContentType = "sod_content_type"
	CheckSODDigest      = "sod_message_digest"
	CheckSODSignature   = "sod_signature"
	CheckDSChain        = "ds_certificate_chain"
	CheckDSValidity     = "ds_certificate_validity"
	CheckCSCAValidity   = "csca_certificate_validity"
	CheckCRL            = "ds_certificate_revocation"
	CheckDGHashPrefix   = "dg_hash_"
	CheckActiveAuth     = "active_authentication"
	CheckChipAuth       = "chip_authentication"
	CheckTerminalAuth   = "terminal_authentication"
)
