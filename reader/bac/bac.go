// Package bac implements Basic Access Control (ICAO Doc 9303 part 11 §4.3 and appendix D): the
// document basic access keys derived from the MRZ, the mutual authentication of reader and chip,
// and the 3DES session keys and send sequence counter it yields.
package bac

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/sm"
)

// CheckDigit computes the MRZ check digit of ICAO Doc 9303 part 3 §4.9: weights 7, 3, 1; digits
// count as themselves, A–Z as 10–35, the filler '<' as 0. It returns an error on any other byte.
func CheckDigit(s string) (byte, error) {
	w := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		case c == '<':
			v = 0
		default:
			return 0, fmt.Errorf("bac: %q is not an MRZ character", c)
		}
		sum += v * w[i%3]
	}
	return byte('0' + sum%10), nil
}

// Key is the document basic access key input: document number, date of birth and date of expiry
// (YYMMDD), as printed in the MRZ.
type Key struct {
	DocumentNumber string
	DateOfBirth    string
	DateOfExpiry   string
}

// MRZInformation is the string that is hashed into Kseed (ICAO Doc 9303 part 11 §9.7.2): document
// number (padded with '<' to at least 9 characters) + check digit + date of birth + check digit +
// date of expiry + check digit.
func (k Key) MRZInformation() (string, error) {
	doc := strings.ToUpper(strings.TrimSpace(k.DocumentNumber))
	for len(doc) < 9 {
		doc += "<"
	}
	if len(k.DateOfBirth) != 6 || len(k.DateOfExpiry) != 6 {
		return "", errors.New("bac: dates must be YYMMDD")
	}
	for _, d := range k.DateOfBirth + k.DateOfExpiry {
		if d < '0' || d > '9' {
			return "", errors.New("bac: dates must be digits YYMMDD")
		}
	}
	var b strings.Builder
	for _, f := range []string{doc, k.DateOfBirth, k.DateOfExpiry} {
		cd, err := CheckDigit(f)
		if err != nil {
			return "", err
		}
		b.WriteString(f)
		b.WriteByte(cd)
	}
	return b.String(), nil
}

// Seed is Kseed: the first 16 bytes of SHA-1 over the MRZ information (part 11 §9.7.2).
func (k Key) Seed() ([]byte, error) {
	info, err := k.MRZInformation()
	if err != nil {
		return nil, err
	}
	h := sha1.Sum([]byte(info))
	return h[:16], nil
}

// Keys returns the document basic access keys Kenc and Kmac.
func (k Key) Keys() (kenc, kmac []byte, err error) {
	seed, err := k.Seed()
	if err != nil {
		return nil, nil, err
	}
	return sm.KDF(sm.TDES, seed, sm.KDFEnc), sm.KDF(sm.TDES, seed, sm.KDFMac), nil
}

// ErrAuth means the chip's answer to EXTERNAL AUTHENTICATE did not verify: a wrong access key
// or a chip that is not what it claims.
var ErrAuth = errors.New("bac: mutual authentication failed (wrong document number, birth or expiry date?)")

// Encrypt3DES encrypts with two-key 3DES CBC and a zero IV (the E of part 11 §9.7.3).
func encrypt(k, data []byte) ([]byte, error) {
	b, err := sm.NewTDESBlock(k)
	if err != nil {
		return nil, err
	}
	return sm.CBCEncrypt(b, make([]byte, 8), data), nil
}

func decrypt(k, data []byte) ([]byte, error) {
	b, err := sm.NewTDESBlock(k)
	if err != nil {
		return nil, err
	}
	return sm.CBCDecrypt(b, make([]byte, 8), data)
}

func mac(k, data []byte) ([]byte, error) { return sm.RetailMAC(k, sm.Pad(data, 8)) }

// Terminal holds the reader's side of one BAC run, split in steps so that the appendix D worked
// example can be replayed with its fixed random numbers.
type Terminal struct {
	Kenc, Kmac   []byte
	RndIFD, KIFD []byte
	RndIC        []byte
}

// AuthData builds the EXTERNAL AUTHENTICATE data E.IFD || M.IFD for S = RND.IFD || RND.IC || K.IFD.
func (t *Terminal) AuthData() ([]byte, error) {
	s := make([]byte, 0, 32)
	s = append(s, t.RndIFD...)
	s = append(s, t.RndIC...)
	s = append(s, t.KIFD...)
	e, err := encrypt(t.Kenc, s)
	if err != nil {
		return nil, err
	}
	m, err := mac(t.Kmac, e)
	if err != nil {
		return nil, err
	}
	return append(e, m...), nil
}

// Finish checks the chip's response E.IC || M.IC and derives the session.
func (t *Terminal) Finish(resp []byte) (*sm.Session, error) {
	if len(resp) != 40 {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrAuth, len(resp))
	}
	m, err := mac(t.Kmac, resp[:32])
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(m, resp[32:]) != 1 {
		return nil, ErrAuth
	}
	r, err := decrypt(t.Kenc, resp[:32])
	if err != nil {
		return nil, err
	}
	// R = RND.IC || RND.IFD || K.IC
	if subtle.ConstantTimeCompare(r[:8], t.RndIC) != 1 || subtle.ConstantTimeCompare(r[8:16], t.RndIFD) != 1 {
		return nil, fmt.Errorf("%w: nonces do not match", ErrAuth)
	}
	return SessionFrom(t.KIFD, r[16:32], t.RndIC, t.RndIFD)
}

// SessionFrom derives KSenc, KSmac from Kseed = K.IFD xor K.IC and the SSC = RND.IC[4:8] ||
// RND.IFD[4:8] (part 11 §9.7.4 and §9.8.2).
func SessionFrom(kIFD, kIC, rndIC, rndIFD []byte) (*sm.Session, error) {
	seed := make([]byte, 16)
	subtle.XORBytes(seed, kIFD, kIC)
	ssc := append(append([]byte(nil), rndIC[4:8]...), rndIFD[4:8]...)
	return sm.NewSession(sm.TDES, sm.KDF(sm.TDES, seed, sm.KDFEnc), sm.KDF(sm.TDES, seed, sm.KDFMac), ssc)
}

// Authenticate runs BAC over t: GET CHALLENGE, EXTERNAL AUTHENTICATE, and returns the session.
func Authenticate(ctx context.Context, t iso7816.Transmitter, key Key, rnd io.Reader) (*sm.Session, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	kenc, kmac, err := key.Keys()
	if err != nil {
		return nil, err
	}
	rndIC, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x84, Ne: 8})
	if err != nil {
		return nil, fmt.Errorf("bac: get challenge: %w", err)
	}
	if len(rndIC) != 8 {
		return nil, fmt.Errorf("bac: challenge of %d bytes", len(rndIC))
	}
	term := &Terminal{Kenc: kenc, Kmac: kmac, RndIC: rndIC, RndIFD: make([]byte, 8), KIFD: make([]byte, 16)}
	if _, err := io.ReadFull(rnd, term.RndIFD); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rnd, term.KIFD); err != nil {
		return nil, err
	}
	data, err := term.AuthData()
	if err != nil {
		return nil, err
	}
	resp, err := iso7816.Do(ctx, t, iso7816.Command{INS: 0x82, Data: data, Ne: 40})
	if err != nil {
		if iso7816.IsStatus(err, iso7816.SWSecurityNotSatisfied) {
			return nil, fmt.Errorf("%w: chip refused", ErrAuth)
		}
		return nil, fmt.Errorf("bac: external authenticate: %w", err)
	}
	return term.Finish(resp)
}

// Chip is the card's side of BAC, used by the virtual card.
type Chip struct {
	Kenc, Kmac []byte
	RndIC      []byte
	KIC        []byte
}

// Respond checks the terminal's EXTERNAL AUTHENTICATE data and returns the answer and the session.
func (c *Chip) Respond(data []byte) ([]byte, *sm.Session, error) {
	if len(data) != 40 || c.RndIC == nil {
		return nil, nil, ErrAuth
	}
	m, err := mac(c.Kmac, data[:32])
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(m, data[32:]) != 1 {
		return nil, nil, ErrAuth
	}
	s, err := decrypt(c.Kenc, data[:32])
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(s[8:16], c.RndIC) != 1 {
		return nil, nil, ErrAuth
	}
	rndIFD, kIFD := s[:8], s[16:32]
	r := append(append(append([]byte(nil), c.RndIC...), rndIFD...), c.KIC...)
	e, err := encrypt(c.Kenc, r)
	if err != nil {
		return nil, nil, err
	}
	mm, err := mac(c.Kmac, e)
	if err != nil {
		return nil, nil, err
	}
	sess, err := SessionFrom(kIFD, c.KIC, c.RndIC, rndIFD)
	if err != nil {
		return nil, nil, err
	}
	return append(e, mm...), sess, nil
}
