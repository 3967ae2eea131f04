// Package reader reads and proves a chip ID card (CCCD, ICAO Doc 9303) through any
// iso7816.Transmitter: select the eMRTD application, access control (BAC), secure messaging, read
// EF.COM, EF.SOD and the data groups with the fewest APDUs the card allows, parse them, and run
// passive and active authentication into a pa.Verdict. It reads as the ICAO procedure reads, one
// named step after another; on any read error it returns no partial result.
package reader

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"time"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/ca"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

// Mode chooses the APDU length encoding for reads.
type Mode int

// Modes.
const (
	// Auto uses extended length when the ATR announces it, short otherwise.
	Auto Mode = iota
	Extended
	Short
)

// DefaultShortLe is the Le of short-mode reads: 0xE0 leaves room for secure messaging overhead in
// a 256-byte response, as JMRTD and gmrtd default to.
const DefaultShortLe = 0xE0

// extendedLe is the plaintext asked per extended READ BINARY: whole files up to 65280 bytes in one
// APDU, while the protected response still fits PC/SC's 65538-byte extended buffer.
const extendedLe = 0xFF00

// Options configure a read.
type Options struct {
	Mode   Mode
	Access Access
	// ATR lets Auto decide; without it Auto means short.
	ATR []byte
	// ShortLe overrides DefaultShortLe.
	ShortLe int
	// DataGroups to read besides EF.COM and EF.SOD; default 1, 2, 13, 14, 15 (those present).
	DataGroups []int
	// TrustStore of CSCA certificates; without it the chain check is "unavailable".
	TrustStore *pa.TrustStore
	// Now is the time for certificate validity (default time.Now).
	Now func() time.Time
	// Progress is called after every chunk with the bytes read so far of the current file and
	// its total length.
	Progress func(file string, read, total int)
	// MaxFileSize refuses files whose header announces more (default 1 MiB).
	MaxFileSize int
	// Rand is the randomness for BAC and active authentication (default crypto/rand).
	Rand io.Reader
	// SkipChipAuth leaves out chip authentication (DG14).
	SkipChipAuth bool
	// Terminal, when set, runs terminal authentication (EAC, after chip authentication) with the
	// desk's inspection system certificate chain and reads DG3 (fingerprints).
	Terminal *eac.Terminal
	// Logger receives step timings (never personal data); nil for none.
	Logger *slog.Logger
}

// ChipData is everything read from the chip, parsed, plus the raw files.
type ChipData struct {
	COM   *lds.Com
	SOD   *lds.SecurityObject
	MRZ   *lds.MRZ
	Faces []lds.Face
	// Fingers are the DG3 images, read only after terminal authentication.
	Fingers []lds.Finger
	VN      *lds.VNData
	DG14    *lds.SecurityDG14
	DG15    *lds.AAKey
	// Files holds the raw contents by data group number (EF.COM and EF.SOD under 0 are not here).
	Files          map[int][]byte
	RawCOM, RawSOD []byte
	// APDUs is the number of command APDUs the read took, access control included.
	APDUs int
	// Extended reports whether extended-length APDUs were used.
	Extended bool
}

// AccessKey is what the officer supplies to open the chip: the MRZ data (document number, birth
// and expiry dates; for a CCCD the document number is the last 9 digits of the 12-digit ID) or
// the 6-digit card access number printed on cards issued from 2024.
type AccessKey struct {
	MRZ bac.Key
	CAN string
}

// MRZKey is an access key from the MRZ fields.
func MRZKey(k bac.Key) AccessKey { return AccessKey{MRZ: k} }

// CANKey is an access key from the card access number (PACE only).
func CANKey(can string) AccessKey { return AccessKey{CAN: can} }

// Access chooses the access control protocol.
type Access int

// Access control choices.
const (
	// AccessAuto runs PACE when EF.CardAccess offers a supported PACEInfo, BAC otherwise.
	AccessAuto Access = iota
	AccessBAC
	AccessPACE
)

// ErrAbsurdLength means a file's header announces a length beyond Options.MaxFileSize.
var ErrAbsurdLength = errors.New("file announces an absurd length")

// ErrTruncated means the card ended a file before the length its header announces.
var ErrTruncated = errors.New("file shorter than its header announces")

// Read runs the whole procedure. The verdict is returned with the data; a failed check is not an
// error (the desk records it), but any read, protocol or parse failure is, with no data.
func Read(ctx context.Context, t iso7816.Transmitter, key AccessKey, o Options) (*ChipData, *pa.Verdict, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = 1 << 20
	}
	if o.ShortLe == 0 {
		o.ShortLe = DefaultShortLe
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if len(o.DataGroups) == 0 {
		o.DataGroups = []int{1, 2, 13, 14, 15}
	}
	ext := o.Mode == Extended
	checkEFATR := false
	if o.Mode == Auto && o.ATR != nil {
		info, err := iso7816.ParseATR(o.ATR)
		ext = err == nil && info.ExtendedLength
		checkEFATR = err == nil && !ext && info.ExtendedInfoInEFATR
	}
	ch := &iso7816.Channel{T: t}
	s := &session{o: o, ch: ch, ext: ext, extLe: extendedLe, verdict: &pa.Verdict{}}
	if checkEFATR {
		if err := s.readEFATRInfo(ctx); err != nil {
			return nil, nil, err
		}
	}
	data, err := s.run(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	data.APDUs, data.Extended = ch.APDUs, s.ext
	return data, s.verdict, nil
}

type session struct {
	o       Options
	ch      *iso7816.Channel
	sm      *sm.Channel
	ext     bool
	extLe   int // plaintext bytes per extended READ BINARY
	verdict *pa.Verdict
	// idPICC identifies the chip to terminal authentication: Comp(PK~PICC) after PACE, the
	// document number and its check digit after BAC. compEph is Comp(PK~PCD) of chip authentication.
	idPICC  []byte
	compEph []byte
	caKind  string // "ECDH" or "DH": the DG14 key chip authentication used
	// cam is the chip authentication data of PACE-CAM, checked against DG14 once it is read.
	cam *pace.CAMData
}

func (s *session) step(name string, start time.Time) {
	if s.o.Logger != nil {
		s.o.Logger.Debug("chip step", "step", name, "ms", time.Since(start).Milliseconds(), "apdus", s.ch.APDUs)
	}
}

func (s *session) run(ctx context.Context, key AccessKey) (*ChipData, error) {
	// 1–2. Access control (ICAO Doc 9303 part 11 §4) and selection of the eMRTD application.
	start := time.Now()
	if err := s.accessControl(ctx, key); err != nil {
		return nil, err
	}
	s.step("access_control", start)
	var err error
	// 3. Read EF.COM, EF.SOD, then the data groups present.
	d := &ChipData{Files: map[int][]byte{}}
	start = time.Now()
	if d.RawCOM, err = s.readFile(ctx, lds.COM); err != nil {
		return nil, err
	}
	if d.COM, err = lds.ParseCOM(d.RawCOM); err != nil {
		return nil, err
	}
	if d.RawSOD, err = s.readFile(ctx, lds.SOD); err != nil {
		return nil, err
	}
	if d.SOD, err = lds.ParseSOD(d.RawSOD); err != nil {
		return nil, err
	}
	present := map[int]bool{}
	for _, n := range d.COM.DataGroups {
		present[n] = true
	}
	// DG14 first: once its hash matches the SOD, chip authentication switches secure messaging to
	// keys only the genuine chip can derive, and every later file is read under them.
	wanted := s.o.DataGroups
	if s.o.Terminal != nil {
		wanted = append([]int{3}, wanted...) // right after DG14: terminal authentication needs CA
	}
	var order []int
	for _, n := range wanted {
		if present[n] && n == 14 && !s.o.SkipChipAuth {
			order = append([]int{14}, order...)
		} else if present[n] && (n != 3 || s.o.Terminal != nil) {
			order = append(order, n)
		}
	}
	caPending, caDone := false, false
	for _, n := range order {
		if n == 3 {
			ok, err := s.terminalAuth(ctx, caPending || caDone)
			if err != nil {
				if caPending && isSMFailure(err) {
					return nil, fmt.Errorf("%w: %w", ErrChipAuth, err)
				}
				return nil, err
			}
			if caPending && ok {
				caPending, caDone = false, true
				s.verdict.Add(pa.CheckChipAuth, pa.Passed, s.caKind+" with the DG14 key; later files read under the chip-authenticated keys")
			}
			if !ok {
				continue // DG3 stays closed; the verdict says why
			}
		}
		f, err := lds.DGByNumber(n)
		if err != nil {
			return nil, err
		}
		b, err := s.readFile(ctx, f)
		if n == 3 {
			is := s.o.Terminal.Chain[len(s.o.Terminal.Chain)-1].CHR
			if iso7816.IsStatus(err, iso7816.SWSecurityNotSatisfied) {
				s.verdict.Add(pa.CheckTerminalAuth, pa.Unavailable, "terminal authenticated as "+is+", but its certificates grant no access to DG3")
				continue
			}
			if err == nil {
				s.verdict.Add(pa.CheckTerminalAuth, pa.Passed, "inspection system "+is+"; DG3 read")
			}
		}
		if err != nil {
			if caPending && isSMFailure(err) {
				return nil, fmt.Errorf("%w: %w", ErrChipAuth, err)
			}
			return nil, err
		}
		if caPending {
			caPending, caDone = false, true
			s.verdict.Add(pa.CheckChipAuth, pa.Passed, s.caKind+" with the DG14 key; later files read under the chip-authenticated keys")
		}
		d.Files[n] = b
		switch {
		case n == 14 && s.cam != nil && !s.o.SkipChipAuth:
			done, err := s.camCheck(d.SOD, b)
			if err != nil {
				return nil, err
			}
			if !done { // no DG14 key on the PACE curve: prove the chip the classic way
				if caPending, err = s.chipAuth(ctx, d.SOD, b); err != nil {
					return nil, err
				}
			}
		case n == 14 && !s.o.SkipChipAuth:
			if caPending, err = s.chipAuth(ctx, d.SOD, b); err != nil {
				return nil, err
			}
		}
	}
	if caPending {
		// Nothing left to read: one short read proves the chip answers under the new keys.
		if _, err := iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0xB0, P1: 0x80 | lds.COM.SFI, Ne: 1}); err != nil {
			if isSMFailure(err) {
				return nil, fmt.Errorf("%w: %w", ErrChipAuth, err)
			}
			return nil, err
		}
		s.verdict.Add(pa.CheckChipAuth, pa.Passed, s.caKind+" with the DG14 key")
	}
	if _, done := s.verdict.Get(pa.CheckTerminalAuth); !done {
		reason := "no terminal certificate configured"
		if s.o.Terminal != nil {
			reason = "the card holds no DG3"
		}
		s.verdict.Add(pa.CheckTerminalAuth, pa.Unavailable, reason)
	}
	if _, done := s.verdict.Get(pa.CheckChipAuth); !done {
		reason := "no DG14"
		if s.o.SkipChipAuth {
			reason = "skipped by configuration"
		}
		s.verdict.Add(pa.CheckChipAuth, pa.Unavailable, reason)
	}
	s.step("read", start)
	// 4. Parse.
	if err := d.parse(); err != nil {
		return nil, err
	}
	// 5. Passive authentication (ICAO Doc 9303 part 11 §5.1).
	start = time.Now()
	pa.Verify(s.verdict, d.SOD, d.Files, s.o.TrustStore, s.o.Now())
	s.step("passive_auth", start)
	// 6. Active authentication when DG15 is present (its hash was just checked).
	if d.DG15 != nil {
		start = time.Now()
		if err := s.activeAuth(ctx, d.DG15); err != nil {
			if errors.Is(err, errAAFailed) {
				s.verdict.Add(pa.CheckActiveAuth, pa.Failed, err.Error())
			} else {
				return nil, err
			}
		}
		s.step("active_auth", start)
	} else {
		s.verdict.Add(pa.CheckActiveAuth, pa.Unavailable, "no DG15")
	}
	return d, nil
}

// accessControl runs PACE when the card offers it (EF.CardAccess) and BAC otherwise.
func (s *session) accessControl(ctx context.Context, key AccessKey) error {
	var infos []pace.Info
	var caRefused error
	if s.o.Access != AccessBAC {
		// EF.CardAccess sits in the master file and is read in plain by its SFI (part 11 §9.2.11).
		ca, err := iso7816.Do(ctx, s.ch, iso7816.Command{INS: 0xB0, P1: 0x80 | lds.CardAccess.SFI, Ne: iso7816.MaxShortNe})
		switch {
		case err == nil:
			if infos, err = pace.ParseCardAccess(ca); err != nil && s.o.Access == AccessPACE {
				return fmt.Errorf("access control: %w", err)
			}
		case isFileStatus(err):
			// no PACE on this card
		case iso7816.IsStatus(err, iso7816.SWSecurityNotSatisfied) || iso7816.IsStatus(err, iso7816.SWConditionsNotSatisfied):
			// EF.CardAccess refused: an older chip without it, or a chip still inside an earlier
			// session (the caller should reset the card between sessions).
			caRefused = err
		default:
			return fmt.Errorf("access control: read EF.CardAccess: %w", err)
		}
	}
	if len(infos) > 0 {
		info := infos[0]
		ref, pw, label := pace.PasswordMRZ, []byte(nil), "MRZ"
		var err error
		if key.CAN != "" {
			ref, label = pace.PasswordCAN, "CAN"
			pw, err = pace.CANPassword(key.CAN)
		} else {
			pw, err = pace.MRZPassword(key.MRZ)
		}
		if err != nil {
			return fmt.Errorf("access control: %w", err)
		}
		r, err := pace.Run(ctx, s.ch, info, ref, pw, s.o.Rand)
		if err != nil {
			return fmt.Errorf("access control: %w", err)
		}
		s.sm, s.idPICC, s.cam = &sm.Channel{T: s.ch, S: r.Session}, r.IDPICC, r.CAM
		s.verdict.Addf(pa.CheckAccessControl, pa.Passed, "PACE-%s, %s, %v secure messaging", label, info.Describe(), r.Session.Alg())
		// Select the eMRTD application under secure messaging (ICAO Doc 9303 part 10 §3.1.2).
		if _, err := iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: lds.AID}); err != nil {
			return fmt.Errorf("select eMRTD application: %w", err)
		}
		return nil
	}
	if s.o.Access == AccessPACE {
		return errors.New("access control: the card offers no supported PACE")
	}
	if key.CAN != "" && key.MRZ.DocumentNumber == "" {
		if caRefused != nil {
			return fmt.Errorf("access control: the card refused EF.CardAccess (reset it between sessions?), so the CAN cannot be used: %w", caRefused)
		}
		return errors.New("access control: the card has no PACE, so the CAN cannot open it; use the MRZ data")
	}
	if _, err := iso7816.Do(ctx, s.ch, iso7816.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: lds.AID}); err != nil {
		return fmt.Errorf("select eMRTD application: %w", err)
	}
	sess, err := bac.Authenticate(ctx, s.ch, key.MRZ, s.o.Rand)
	if err != nil {
		return fmt.Errorf("access control: %w", err)
	}
	s.sm = &sm.Channel{T: s.ch, S: sess}
	info, _ := key.MRZ.MRZInformation()
	s.idPICC = []byte(info[:10]) // document number (9 characters) and its check digit
	s.verdict.Add(pa.CheckAccessControl, pa.Passed, "BAC (3DES secure messaging); the CCCD BAC key is guessable, passive authentication decides")
	return nil
}

// terminalAuth runs EAC terminal authentication before DG3. It reports whether DG3 may be read; a
// refusal by the chip is a failed check, not an error.
func (s *session) terminalAuth(ctx context.Context, afterCA bool) (bool, error) {
	if s.cam != nil && s.compEph == nil {
		s.verdict.Add(pa.CheckTerminalAuth, pa.Unavailable, "terminal authentication after PACE-CAM is not implemented")
		return false, nil
	}
	if !afterCA || s.compEph == nil {
		s.verdict.Add(pa.CheckTerminalAuth, pa.Unavailable, "needs chip authentication first")
		return false, nil
	}
	err := eac.Authenticate(ctx, s.sm, s.o.Terminal, s.idPICC, s.compEph)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, eac.ErrTA) && !isSMFailure(err):
		// The chip refused the desk's certificates: a fact about the desk's credentials, not about
		// the chip's authenticity, so the check is unavailable rather than failed.
		s.verdict.Add(pa.CheckTerminalAuth, pa.Unavailable, err.Error())
		return false, nil
	}
	return false, err
}

func (d *ChipData) parse() error {
	var err error
	if b, ok := d.Files[3]; ok {
		if d.Fingers, err = lds.ParseDG3(b); err != nil {
			return err
		}
	}
	if b, ok := d.Files[1]; ok {
		if d.MRZ, err = lds.ParseDG1(b); err != nil {
			return err
		}
	}
	if b, ok := d.Files[2]; ok {
		if d.Faces, err = lds.ParseDG2(b); err != nil {
			return err
		}
	}
	if b, ok := d.Files[13]; ok {
		if d.VN, err = lds.ParseDG13(b); err != nil {
			return err
		}
	}
	if b, ok := d.Files[14]; ok {
		if d.DG14, err = lds.ParseDG14(b); err != nil {
			return err
		}
	}
	if b, ok := d.Files[15]; ok {
		if d.DG15, err = lds.ParseDG15(b); err != nil {
			return err
		}
	}
	return nil
}

// readFile reads one EF through secure messaging. The first READ BINARY names the file by its
// short EF identifier (ISO/IEC 7816-4 §7.2.2), so no SELECT is needed; in extended mode it asks for
// up to 65280 bytes, so a file of that size takes a single APDU. Offsets past 32767 use the odd
// INS B1 with DO'54'.
func (s *session) readFile(ctx context.Context, f lds.File) ([]byte, error) {
	le := s.o.ShortLe
	if s.ext {
		le = s.extLe
	}
	first, err := iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0xB0, P1: 0x80 | f.SFI, P2: 0, Ne: le})
	if err != nil {
		if !isFileStatus(err) {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		// The card does not read by SFI: select by file identifier and read from 0.
		if _, err := iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{byte(f.FID >> 8), byte(f.FID)}}); err != nil {
			return nil, fmt.Errorf("select %s: %w", f.Name, err)
		}
		if first, err = iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0xB0, Ne: le}); err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
	}
	tag, length, hl, err := tlv.ParseHeader(first)
	if err != nil {
		return nil, fmt.Errorf("read %s: header: %w", f.Name, err)
	}
	if f.Tag != 0 && tag != uint32(f.Tag) {
		return nil, fmt.Errorf("read %s: tag %X, want %02X", f.Name, tag, f.Tag)
	}
	total := hl + length
	if total > s.o.MaxFileSize {
		return nil, fmt.Errorf("read %s: %w (%d bytes, limit %d)", f.Name, ErrAbsurdLength, total, s.o.MaxFileSize)
	}
	buf := make([]byte, 0, total)
	buf = append(buf, first[:min(len(first), total)]...)
	s.progress(f.Name, len(buf), total)
	for len(buf) < total {
		n := min(le, total-len(buf))
		off := len(buf)
		var cmd iso7816.Command
		if off <= 0x7FFF {
			cmd = iso7816.Command{INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: n}
		} else {
			cmd = iso7816.Command{INS: 0xB1, Data: tlv.Encode(0x54, []byte{byte(off >> 16), byte(off >> 8), byte(off)}), Ne: n}
		}
		chunk, err := iso7816.Do(ctx, s.sm, cmd)
		if err != nil {
			if iso7816.IsStatus(err, iso7816.SWWrongP1P2) {
				return nil, fmt.Errorf("read %s at %d of %d: %w", f.Name, off, total, ErrTruncated)
			}
			return nil, fmt.Errorf("read %s at %d: %w", f.Name, off, err)
		}
		if cmd.INS == 0xB1 {
			// The odd-INS response wraps the data in DO'53'.
			if chunk, err = tlv.Unwrap(chunk, 0x53); err != nil {
				return nil, fmt.Errorf("read %s at %d: %w", f.Name, off, err)
			}
		}
		if len(chunk) == 0 {
			return nil, fmt.Errorf("read %s at %d of %d: %w", f.Name, off, total, ErrTruncated)
		}
		buf = append(buf, chunk[:min(len(chunk), total-len(buf))]...)
		s.progress(f.Name, len(buf), total)
	}
	return buf, nil
}

// smOverhead bounds what secure messaging adds to a response: DO'87' header and padding, DO'99',
// DO'8E' and the status word.
const smOverhead = 64

// readEFATRInfo reads EF.ATR/INFO (ISO/IEC 7816-4 §8.2.1.1: FID 2F01, SFI 01 in the master file)
// when the historical bytes say that the extended length information is there, and enables
// extended-length reads sized to the card's buffers (DO'7F66': maximum command and response
// lengths).
func (s *session) readEFATRInfo(ctx context.Context) error {
	b, err := iso7816.Do(ctx, s.ch, iso7816.Command{INS: 0xB0, P1: 0x81, Ne: iso7816.MaxShortNe})
	if err != nil {
		if isFileStatus(err) || iso7816.IsStatus(err, iso7816.SWSecurityNotSatisfied) {
			return nil // absent or unreadable: stay with short APDUs
		}
		return fmt.Errorf("read EF.ATR/INFO: %w", err)
	}
	info, ok, err := tlv.Find(b, 0x7F66)
	if err != nil || !ok {
		return nil
	}
	objs, err := tlv.ParseAll(info)
	if err != nil || len(objs) < 2 || objs[1].Tag != 0x02 {
		return nil
	}
	maxRsp := 0
	for _, x := range objs[1].Value {
		maxRsp = maxRsp<<8 | int(x)
		if maxRsp > 1<<20 {
			return nil
		}
	}
	if maxRsp-smOverhead > iso7816.MaxShortNe {
		s.ext = true
		s.extLe = min(extendedLe, maxRsp-smOverhead)
	}
	return nil
}

// isSMFailure tells a secure messaging failure (wrong checksum, the chip dropping its keys) from a
// transport failure such as a card pulled out.
func isSMFailure(err error) bool {
	return errors.Is(err, sm.ErrMAC) || errors.Is(err, sm.ErrClosed) ||
		iso7816.IsStatus(err, iso7816.SWSMObjectsMissing) || iso7816.IsStatus(err, iso7816.SWSMObjectsIncorrect)
}

func isFileStatus(err error) bool {
	for _, sw := range []uint16{iso7816.SWFileNotFound, iso7816.SWInsNotSupported, 0x6A86, 0x6A81, iso7816.SWWrongP1P2} {
		if iso7816.IsStatus(err, sw) {
			return true
		}
	}
	return false
}

func (s *session) progress(name string, read, total int) {
	if s.o.Progress != nil {
		s.o.Progress(name, read, total)
	}
}

var errAAFailed = errors.New("active authentication failed")

// ErrChipAuth means the chip could not answer under the keys of chip authentication: it does not
// hold the private key of its DG14 (a clone), or the exchange was tampered with.
var ErrChipAuth = errors.New("chip authentication failed: the chip does not hold its DG14 key (clone?)")

// camCheck finishes PACE-CAM (ICAO Doc 9303 part 11 §4.4.3.5.2): when DG14 is authentic (its hash
// matches the SOD; the SOD's signature is passive authentication's), the chip authentication data
// the chip sent during PACE must match one of DG14's static keys on the PACE curve. A mismatch is a
// clone: an error with no data, as a failed chip authentication is. It reports false, with no
// verdict, when DG14 holds no key on the PACE curve (part 11 puts the PACE-CAM key in
// EF.CardSecurity, which this reader does not read): the caller then runs chip authentication.
func (s *session) camCheck(sod *lds.SecurityObject, raw []byte) (bool, error) {
	want, ok := sod.DGHashes[14]
	h := sod.HashAlg.New()
	h.Write(raw)
	if !ok || !bytes.Equal(h.Sum(nil), want) {
		s.verdict.Add(pa.CheckChipAuth, pa.Unavailable, "PACE-CAM ran, but DG14 does not match the SOD, so its key is not trusted")
		return true, nil
	}
	dg14, err := lds.ParseDG14(raw)
	if err != nil {
		return false, err
	}
	var mismatch error
	for _, k := range dg14.CAKeys {
		if !k.Protocol.Equal(lds.OIDPKECDH) {
			continue
		}
		c, pk, err := ca.ParseECKey(k.SPKI)
		if err != nil || c != s.cam.Curve {
			continue
		}
		if mismatch = s.cam.Verify(c, pk); mismatch == nil {
			s.verdict.ChipAuthMethod = pa.ChipAuthPACECAM
			s.verdict.Addf(pa.CheckChipAuth, pa.Passed, "PACE-CAM: the chip's authentication data matches the DG14 key on %s (no separate chip authentication)", c.Name)
			return true, nil
		}
	}
	if mismatch != nil {
		return false, fmt.Errorf("%w: %w", ErrChipAuth, mismatch)
	}
	return false, nil
}

// chipAuth runs chip authentication when DG14 is authentic (its hash matches the SOD). It returns
// whether the new session still awaits its first answer.
func (s *session) chipAuth(ctx context.Context, sod *lds.SecurityObject, raw []byte) (bool, error) {
	want, ok := sod.DGHashes[14]
	h := sod.HashAlg.New()
	h.Write(raw)
	if !ok || !bytes.Equal(h.Sum(nil), want) {
		s.verdict.Add(pa.CheckChipAuth, pa.Unavailable, "DG14 does not match the SOD, its key is not trusted")
		return false, nil
	}
	dg14, err := lds.ParseDG14(raw)
	if err != nil {
		return false, err
	}
	if len(dg14.CAKeys) == 0 {
		s.verdict.Add(pa.CheckChipAuth, pa.Unavailable, "DG14 holds no chip authentication key")
		return false, nil
	}
	s.caKind = "ECDH"
	if dg14.CAKeys[0].Protocol.Equal(lds.OIDPKDH) {
		s.caKind = "DH"
	}
	sess, compEph, err := ca.Authenticate(ctx, s.sm, dg14, s.o.Rand)
	if err != nil {
		if errors.Is(err, ca.ErrNoKey) {
			s.verdict.Add(pa.CheckChipAuth, pa.Unavailable, err.Error())
			return false, nil
		}
		if isSMFailure(err) || errors.Is(err, pace.ErrPoint) {
			return false, fmt.Errorf("%w: %w", ErrChipAuth, err)
		}
		return false, err
	}
	s.sm, s.compEph = &sm.Channel{T: s.ch, S: sess}, compEph
	s.verdict.ChipAuthMethod = pa.ChipAuthSeparate
	return true, nil
}

// activeAuth runs ICAO Doc 9303 part 11 §6.1: INTERNAL AUTHENTICATE with an 8-byte challenge. An
// ECDSA chip answers r||s (plain format, BSI TR-03111 §5.2.1) over SHA-256 of it; an RSA chip an
// ISO/IEC 9796-2 scheme 1 signature (verify9796).
func (s *session) activeAuth(ctx context.Context, k *lds.AAKey) error {
	challenge := make([]byte, 8)
	if _, err := io.ReadFull(s.o.Rand, challenge); err != nil {
		return err
	}
	switch k.Key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		s.verdict.Addf(pa.CheckActiveAuth, pa.Unavailable, "AA key type %T not supported by this build", k.Key)
		return nil
	}
	sig, err := iso7816.Do(ctx, s.sm, iso7816.Command{INS: 0x88, Data: challenge, Ne: iso7816.MaxShortNe})
	if err != nil {
		return fmt.Errorf("active authentication: %w", err)
	}
	if rpub, ok := k.Key.(*rsa.PublicKey); ok {
		if err := verify9796(rpub, challenge, sig); err != nil {
			return err
		}
		s.verdict.Add(pa.CheckActiveAuth, pa.Passed, "RSA, ISO/IEC 9796-2 scheme 1")
		return nil
	}
	pub := k.Key.(*ecdsa.PublicKey)
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return fmt.Errorf("%w: signature of %d bytes", errAAFailed, len(sig))
	}
	r, ss := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	h := sha256.Sum256(challenge)
	if !ecdsa.Verify(pub, h[:], r, ss) {
		return fmt.Errorf("%w: signature does not verify with the DG15 key", errAAFailed)
	}
	s.verdict.Add(pa.CheckActiveAuth, pa.Passed, "ECDSA")
	return nil
}
