package eac

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/tlv"
)

// Terminal is what a desk needs for terminal authentication: its certificate chain from the card's
// CVCA (DV certificate, then inspection system certificate) and the IS private key.
type Terminal struct {
	Chain []*Cert
	Key   *ecdsa.PrivateKey
}

// ErrTA means the chip refused the terminal's certificates or signature.
var ErrTA = errors.New("terminal authentication refused by the chip")

// Authenticate runs terminal authentication version 1 over t (the current secure messaging
// channel, after chip authentication): for each certificate MSE:Set DST + PSO:Verify Certificate,
// then MSE:Set AT, GET CHALLENGE and EXTERNAL AUTHENTICATE with the signature over
// ID_PICC || r_PICC || Comp(PK~PCD) (BSI TR-03110 part 3 §B.11.1). idPICC is the document number
// with its check digit (BAC) and compEph the x-coordinate of the terminal's chip-authentication
// ephemeral key.
func Authenticate(ctx context.Context, t iso7816.Transmitter, term *Terminal, idPICC, compEph []byte) error {
	if len(term.Chain) == 0 || term.Key == nil {
		return errors.New("terminal authentication: no certificates configured")
	}
	for _, c := range term.Chain {
		if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x22, P1: 0x81, P2: 0xB6, Data: tlv.Encode(0x83, []byte(c.CAR))}); err != nil {
			return fmt.Errorf("%w: MSE:Set DST %s: %w", ErrTA, c.CAR, err)
		}
		data := tlv.Concat(c.Body, tlv.Encode(0x5F37, c.Signature))
		if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x2A, P1: 0x00, P2: 0xBE, Data: data}); err != nil {
			return fmt.Errorf("%w: verify certificate %s: %w", ErrTA, c.CHR, err)
		}
	}
	is := term.Chain[len(term.Chain)-1]
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x22, P1: 0x81, P2: 0xA4, Data: tlv.Encode(0x83, []byte(is.CHR))}); err != nil {
		return fmt.Errorf("%w: MSE:Set AT: %w", ErrTA, err)
	}
	r, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x84, Ne: 8})
	if err != nil || len(r) != 8 {
		return fmt.Errorf("%w: get challenge: %v", ErrTA, err)
	}
	msg := append(append(append([]byte(nil), idPICC...), r...), compEph...)
	sig, err := sign(term.Key, msg)
	if err != nil {
		return err
	}
	if _, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x82, Data: sig}); err != nil {
		return fmt.Errorf("%w: external authenticate: %w", ErrTA, err)
	}
	return nil
}

// Chip is the card's side of terminal authentication, for the virtual card.
type Chip struct {
	CVCA *Cert // trust point
	// Date is the chip's notion of today, raised by domestic certificates' effective dates.
	Date time.Time

	key       []byte // public key of the certificate selected by MSE:Set DST
	keyRef    string
	rights    byte
	chr       string // holder of the last verified certificate
	role      byte
	challenge []byte
	granted   byte
}

// Granted returns the rights obtained by a completed terminal authentication.
func (c *Chip) Granted() byte { return c.granted }

// SetDST selects the verification key by its reference (the CVCA trust point or a verified cert).
func (c *Chip) SetDST(ref string) error {
	switch {
	case ref == c.CVCA.CHR:
		c.key, c.keyRef, c.rights = c.CVCA.PublicKey, ref, 0xFF
	case ref == c.chr && c.key != nil:
		// the certificate verified last becomes the verification key
	default:
		return fmt.Errorf("%w: unknown reference %q", ErrTA, ref)
	}
	return nil
}

// VerifyCert checks one certificate against the selected key and imports it.
func (c *Chip) VerifyCert(data []byte) error {
	cert, err := Parse(data)
	if err != nil {
		return err
	}
	if c.key == nil || cert.CAR != c.keyRef {
		return fmt.Errorf("%w: certificate not issued by the selected key", ErrTA)
	}
	if err := Verify(c.key, cert.Body, cert.Signature); err != nil {
		return fmt.Errorf("%w: %v", ErrTA, err)
	}
	if cert.Expiry.Before(c.Date) {
		return fmt.Errorf("%w: certificate %s expired", ErrTA, cert.CHR)
	}
	if cert.Role&0xC0 != RoleIS && cert.Role&0xC0 != RoleDVForeign && cert.Effective.After(c.Date) {
		c.Date = cert.Effective // domestic certificates advance the chip's date
	}
	c.key, c.keyRef, c.chr = cert.PublicKey, cert.CHR, cert.CHR
	c.rights &= cert.Role & 0x3F
	c.role = cert.Role & 0xC0
	return nil
}

// SetAT names the inspection system that will authenticate.
func (c *Chip) SetAT(chr string) error {
	if chr != c.chr || c.role != RoleIS {
		return fmt.Errorf("%w: %q is not the verified inspection system", ErrTA, chr)
	}
	return nil
}

// Challenge draws r_PICC.
func (c *Chip) Challenge() []byte {
	c.challenge = make([]byte, 8)
	_, _ = rand.Read(c.challenge)
	return c.challenge
}

// ExternalAuthenticate checks the terminal's signature and grants the certificate chain's rights.
func (c *Chip) ExternalAuthenticate(sig, idPICC, compEph []byte) error {
	if c.challenge == nil || c.role != RoleIS {
		return fmt.Errorf("%w: no challenge or no inspection system", ErrTA)
	}
	msg := append(append(append([]byte(nil), idPICC...), c.challenge...), compEph...)
	c.challenge = nil
	if err := Verify(c.key, msg, sig); err != nil {
		return fmt.Errorf("%w: %v", ErrTA, err)
	}
	c.granted = c.rights
	return nil
}
