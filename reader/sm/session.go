package sm

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/tlv"
)

// ErrMAC means a secure messaging checksum did not verify. The session is dead afterwards: ICAO
// Doc 9303 part 11 §9.8 requires the terminal to abort, and the card to drop its session keys.
var ErrMAC = errors.New("sm: checksum (DO'8E') does not verify")

// ErrClosed is returned by a session that has seen a checksum failure.
var ErrClosed = errors.New("sm: session aborted after a checksum failure")

// Session is one secure messaging context: keys, cipher suite and send sequence counter. The same
// type serves the reader (Wrap/Unwrap) and the card (UnwrapCommand/WrapResponse); both sides
// increment the counter before every command and every response.
type Session struct {
	alg    Alg
	block  cipher.Block
	macKey []byte
	ssc    []byte
	dead   bool
}

// NewSession builds a session. ssc is 8 bytes for 3DES and 16 for AES (ICAO Doc 9303 part 11
// §9.8.2: after BAC it is RND.IC[4:8]||RND.IFD[4:8]; after PACE and CA it starts at zero).
func NewSession(alg Alg, kenc, kmac, ssc []byte) (*Session, error) {
	s := &Session{alg: alg, macKey: append([]byte(nil), kmac...), ssc: append([]byte(nil), ssc...)}
	var err error
	switch alg {
	case TDES:
		s.block, err = NewTDESBlock(kenc)
		if len(kmac) != 16 {
			return nil, fmt.Errorf("sm: 3DES MAC key of %d bytes", len(kmac))
		}
	case AES128, AES192, AES256:
		if len(kenc) != alg.KeyLen() || len(kmac) != alg.KeyLen() {
			return nil, fmt.Errorf("sm: %v keys of %d and %d bytes", alg, len(kenc), len(kmac))
		}
		s.block, err = aes.NewCipher(kenc)
	default:
		return nil, fmt.Errorf("sm: unknown cipher suite %v", alg)
	}
	if err != nil {
		return nil, err
	}
	if len(ssc) != s.block.BlockSize() {
		return nil, fmt.Errorf("sm: SSC of %d bytes for %v", len(ssc), alg)
	}
	return s, nil
}

// Alg is the session's cipher suite.
func (s *Session) Alg() Alg { return s.alg }

// SSC returns a copy of the current send sequence counter.
func (s *Session) SSC() []byte { return append([]byte(nil), s.ssc...) }

func (s *Session) incSSC() {
	for i := len(s.ssc) - 1; i >= 0; i-- {
		s.ssc[i]++
		if s.ssc[i] != 0 {
			break
		}
	}
}

func (s *Session) bs() int { return s.block.BlockSize() }

// iv is zero for 3DES (§9.8.6.1) and E(KSenc, SSC) for AES (§9.8.6.2).
func (s *Session) iv() []byte {
	iv := make([]byte, s.bs())
	if s.alg != TDES {
		s.block.Encrypt(iv, s.ssc)
	}
	return iv
}

func (s *Session) mac(data []byte) ([]byte, error) {
	in := make([]byte, 0, len(s.ssc)+len(data)+s.bs())
	in = append(in, s.ssc...)
	in = append(in, data...)
	in = Pad(in, s.bs())
	if s.alg == TDES {
		return RetailMAC(s.macKey, in)
	}
	m, err := CMAC(s.macKey, in)
	if err != nil {
		return nil, err
	}
	return m[:8], nil
}

func (s *Session) encrypt(plain []byte) []byte {
	return CBCEncrypt(s.block, s.iv(), Pad(plain, s.bs()))
}

func (s *Session) decrypt(ct []byte) ([]byte, error) {
	p, err := CBCDecrypt(s.block, s.iv(), ct)
	if err != nil {
		return nil, err
	}
	return Unpad(p)
}

// leBytes encodes Ne for DO'97' (ICAO Doc 9303 part 11 §9.8.4: the plain Le, one byte in short
// mode, two in extended; 00 / 0000 mean the maximum).
func leBytes(ne int, ext bool) []byte {
	if !ext {
		return []byte{byte(ne)}
	}
	return []byte{byte(ne >> 8), byte(ne)}
}

// Wrap protects a plain command (reader side).
func (s *Session) Wrap(c iso7816.Command) ([]byte, error) {
	if s.dead {
		return nil, ErrClosed
	}
	if c.CLA&0x0C != 0 {
		return nil, errors.New("sm: command already protected")
	}
	ext := c.Extended()
	s.incSSC()
	header := []byte{c.CLA | 0x0C, c.INS, c.P1, c.P2}
	var body []byte
	if len(c.Data) > 0 {
		enc := s.encrypt(c.Data)
		if c.INS&1 == 1 { // odd INS: DO'85', no padding-content indicator (§9.8.5)
			body = append(body, tlv.Encode(0x85, enc)...)
		} else {
			body = append(body, tlv.Encode(0x87, append([]byte{0x01}, enc...))...)
		}
	}
	if c.Ne > 0 {
		body = append(body, tlv.Encode(0x97, leBytes(c.Ne, ext))...)
	}
	m := append(Pad(header, s.bs()), body...)
	cc, err := s.mac(m)
	if err != nil {
		return nil, err
	}
	body = append(body, tlv.Encode(0x8E, cc)...)
	outer := iso7816.Command{CLA: header[0], INS: c.INS, P1: c.P1, P2: c.P2, Data: body, Ne: iso7816.MaxShortNe}
	if ext || len(body) > iso7816.MaxShortLc {
		outer.Ne = iso7816.MaxExtendedNe
		return outer.BytesExtended()
	}
	return outer.Bytes()
}

// Unwrap verifies and decrypts a protected response (reader side). A response without DO'8E' is
// accepted only for the status words a card may send in plain after an SM error (6987, 6988): it
// comes back as a StatusError and the session is closed, since the card has dropped its keys.
func (s *Session) Unwrap(rsp []byte) (iso7816.Response, error) {
	if s.dead {
		return iso7816.Response{}, ErrClosed
	}
	r, err := iso7816.ParseResponse(rsp)
	if err != nil {
		return iso7816.Response{}, err
	}
	s.incSSC()
	if len(r.Data) == 0 {
		s.dead = true
		if r.SW == iso7816.SWOK {
			return iso7816.Response{}, fmt.Errorf("%w: plain 9000 without checksum", ErrMAC)
		}
		return iso7816.Response{}, &iso7816.StatusError{SW: r.SW}
	}
	objs, err := tlv.ParseAll(r.Data)
	if err != nil {
		s.dead = true
		return iso7816.Response{}, fmt.Errorf("sm: response objects: %w", err)
	}
	var do87, do99, cc []byte
	var macced []byte
	for _, o := range objs {
		raw := tlv.Encode(o.Tag, o.Value)
		switch o.Tag {
		case 0x87, 0x85:
			if do87 != nil || do99 != nil || cc != nil {
				s.dead = true
				return iso7816.Response{}, errors.New("sm: response objects out of order")
			}
			do87 = o.Value
			if o.Tag == 0x85 {
				do87 = append([]byte{0x01}, o.Value...)
			}
			macced = append(macced, raw...)
		case 0x99:
			if do99 != nil || cc != nil {
				s.dead = true
				return iso7816.Response{}, errors.New("sm: response objects out of order")
			}
			do99 = o.Value
			macced = append(macced, raw...)
		case 0x8E:
			if cc != nil {
				s.dead = true
				return iso7816.Response{}, errors.New("sm: two checksums")
			}
			cc = o.Value
		default:
			s.dead = true
			return iso7816.Response{}, fmt.Errorf("sm: unexpected response object %X", o.Tag)
		}
	}
	if cc == nil {
		s.dead = true
		return iso7816.Response{}, fmt.Errorf("%w: DO'8E' missing", ErrMAC)
	}
	want, err := s.mac(macced)
	if err != nil {
		return iso7816.Response{}, err
	}
	if len(cc) != 8 || subtle.ConstantTimeCompare(cc, want) != 1 {
		s.dead = true
		return iso7816.Response{}, ErrMAC
	}
	if len(do99) != 2 {
		s.dead = true
		return iso7816.Response{}, errors.New("sm: DO'99' status missing or malformed")
	}
	out := iso7816.Response{SW: uint16(do99[0])<<8 | uint16(do99[1])}
	if out.SW != r.SW {
		s.dead = true
		return iso7816.Response{}, fmt.Errorf("sm: protected status %04X differs from plain %04X", out.SW, r.SW)
	}
	if do87 != nil {
		if len(do87) < 1 || do87[0] != 0x01 {
			s.dead = true
			return iso7816.Response{}, errors.New("sm: DO'87' without padding indicator 01")
		}
		out.Data, err = s.decrypt(do87[1:])
		if err != nil {
			s.dead = true
			return iso7816.Response{}, fmt.Errorf("sm: decrypt response: %w", err)
		}
	}
	return out, nil
}

// UnwrapCommand verifies and decrypts a protected command (card side). It also returns whether
// the command used the extended encoding, which the response must mirror.
func (s *Session) UnwrapCommand(raw []byte) (iso7816.Command, error) {
	if s.dead {
		return iso7816.Command{}, ErrClosed
	}
	outer, err := iso7816.ParseCommand(raw)
	if err != nil {
		return iso7816.Command{}, err
	}
	s.incSSC()
	if outer.CLA&0x0C != 0x0C {
		s.dead = true
		return iso7816.Command{}, errors.New("sm: plain command inside a secure session")
	}
	objs, err := tlv.ParseAll(outer.Data)
	if err != nil {
		s.dead = true
		return iso7816.Command{}, fmt.Errorf("sm: command objects: %w", err)
	}
	plain := iso7816.Command{CLA: outer.CLA &^ 0x0C, INS: outer.INS, P1: outer.P1, P2: outer.P2}
	header := []byte{outer.CLA, outer.INS, outer.P1, outer.P2}
	m := Pad(header, s.bs())
	var enc, cc []byte
	for _, o := range objs {
		switch o.Tag {
		case 0x87:
			if len(o.Value) < 1 || o.Value[0] != 0x01 {
				s.dead = true
				return iso7816.Command{}, errors.New("sm: DO'87' without padding indicator")
			}
			enc = o.Value[1:]
			m = append(m, tlv.Encode(o.Tag, o.Value)...)
		case 0x85:
			enc = o.Value
			m = append(m, tlv.Encode(o.Tag, o.Value)...)
		case 0x97:
			switch len(o.Value) {
			case 1:
				plain.Ne = int(o.Value[0])
				if plain.Ne == 0 {
					plain.Ne = iso7816.MaxShortNe
				}
			case 2:
				plain.Ne = int(o.Value[0])<<8 | int(o.Value[1])
				if plain.Ne == 0 {
					plain.Ne = iso7816.MaxExtendedNe
				}
			default:
				s.dead = true
				return iso7816.Command{}, errors.New("sm: DO'97' of bad length")
			}
			m = append(m, tlv.Encode(o.Tag, o.Value)...)
		case 0x8E:
			cc = o.Value
		default:
			s.dead = true
			return iso7816.Command{}, fmt.Errorf("sm: unexpected command object %X", o.Tag)
		}
	}
	want, err := s.mac(m)
	if err != nil {
		return iso7816.Command{}, err
	}
	if len(cc) != 8 || subtle.ConstantTimeCompare(cc, want) != 1 {
		s.dead = true
		return iso7816.Command{}, ErrMAC
	}
	if enc != nil {
		if plain.Data, err = s.decrypt(enc); err != nil {
			s.dead = true
			return iso7816.Command{}, fmt.Errorf("sm: decrypt command: %w", err)
		}
	}
	return plain, nil
}

// WrapResponse protects a response (card side). Data goes in DO'87' (DO'85' for odd INS is not
// used by the LDS read commands we answer), the status in DO'99', the checksum in DO'8E'.
func (s *Session) WrapResponse(r iso7816.Response) ([]byte, error) {
	if s.dead {
		return nil, ErrClosed
	}
	s.incSSC()
	var body []byte
	if len(r.Data) > 0 {
		body = append(body, tlv.Encode(0x87, append([]byte{0x01}, s.encrypt(r.Data)...))...)
	}
	body = append(body, tlv.Encode(0x99, []byte{byte(r.SW >> 8), byte(r.SW)})...)
	cc, err := s.mac(body)
	if err != nil {
		return nil, err
	}
	body = append(body, tlv.Encode(0x8E, cc)...)
	return iso7816.Response{Data: body, SW: r.SW}.Bytes(), nil
}

// Kill marks the session dead (the card does this after a checksum failure).
func (s *Session) Kill() { s.dead = true }

// Channel is a Transmitter that protects every plain command with a Session.
type Channel struct {
	T iso7816.Transmitter
	S *Session
}

// Transmit takes a plain command APDU and returns the plain response APDU.
func (c *Channel) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	cmd, err := iso7816.ParseCommand(apdu)
	if err != nil {
		return nil, err
	}
	prot, err := c.S.Wrap(cmd)
	if err != nil {
		return nil, err
	}
	rsp, err := c.T.Transmit(ctx, prot)
	if err != nil {
		return nil, err
	}
	r, err := c.S.Unwrap(rsp)
	if err != nil {
		return nil, err
	}
	return r.Bytes(), nil
}
