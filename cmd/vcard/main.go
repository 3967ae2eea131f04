// Command vcard is the virtual CCCD chip: it connects to Debian's vsmartcard-vpcd as the card in
// the "Virtual PCD" reader, so that the desk (or any PC/SC application) reads it through pcscd
// exactly as it would read a real card. Its test CSCA lives in -pki; point the desk's trust store
// at -pki/trust (written on start).
//
//	vcard -pki /tmp/vcard-pki -face ../shared/testdata/faces/lfw/Hu_Jintao/Hu_Jintao_0001.jpg
package main

import (
	"context"
	"encoding/asn1"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"enrolldesk/reader/eac"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/vcard"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vcard:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("vpcd", vcard.DefaultVPCD, "vpcd address (host:port of the card side)")
	pkiDir := flag.String("pki", filepath.Join(os.TempDir(), "enrolldesk-vcard-pki"), "folder of the test CSCA and DS (created if missing)")
	face := flag.String("face", "", "JPEG face for DG2 (e.g. an LFW image from ../shared/testdata/faces)")
	faceJP2 := flag.String("face-jp2", "", "serve this JPEG 2000 portrait (JP2 file or codestream) in DG2 instead of the JPEG (-face is still required)")
	id := flag.String("id", "", "12-digit citizen ID (default: the sample citizen)")
	dob := flag.String("dob", "", "date of birth YYMMDD")
	doe := flag.String("doe", "", "date of expiry YYMMDD")
	surname := flag.String("surname", "", "MRZ surname, upper-case ASCII")
	given := flag.String("given", "", "MRZ given names, upper-case ASCII")
	fullName := flag.String("name", "", "full name in Vietnamese (DG13)")
	can := flag.String("can", "", "6-digit card access number")
	paceID := flag.Int("pace", 13, "PACE domain parameter: 13 brainpoolP256r1, 12 P-256 (ECDH); 0-2 RFC 5114 groups with a DH -pace-mapping; 0 with ecdh-gm means BAC only")
	paceMapping := flag.String("pace-mapping", "ecdh-gm", "PACE mapping: ecdh-gm, dh-gm, ecdh-im, dh-im, ecdh-cam (chip authentication mapping: DG14's key proven during PACE)")
	paceCipher := flag.Int("pace-cipher", 128, "PACE secure messaging cipher: AES-128, 192 or 256")
	camLie := flag.Bool("cam-lie", false, "hostile: with -pace-mapping ecdh-cam, chip authentication data from another key than DG14's")
	short := flag.Bool("short-only", false, "no extended-length APDUs")
	forge := flag.Int("forge", 0, "hostile: 1 DG1, 2 DG2, 3 DG13 altered, 4 SOD signature, 5 message digest, 6 unknown CSCA, 7 DG13 hash missing")
	badMAC := flag.Int("bad-mac-after", 0, "hostile: the N-th protected response carries a wrong MAC")
	truncate := flag.Int("truncate", 0, "hostile: data group served cut in half")
	absurd := flag.Int("absurd-length", 0, "hostile: data group announcing 16 MB")
	pull := flag.Int("pull-after", 0, "pull the card out after N APDUs, then re-insert")
	expiredDS := flag.Bool("expired-ds", false, "hostile: sign the SOD with a DS certificate that expired yesterday")
	caDH := flag.Bool("ca-dh", false, "DH chip authentication key in DG14 (RFC 5114 2048/224 group) instead of ECDH P-256")
	clone := flag.Bool("clone", false, "hostile: answer chip authentication without the DG14 private key")
	aaRSA := flag.Bool("aa-rsa", false, "RSA-1024 active authentication key (ISO/IEC 9796-2) instead of ECDSA")
	once := flag.Bool("once", false, "exit when the card is pulled instead of re-inserting it")
	lockHeld := flag.Bool("lock-held", false, "the parent process holds the machine-wide vpcd lock for this one (tests); do not take it")
	fingers := flag.String("fingers", "", "comma-separated 8-bit TIFF fingers for DG3 (e.g. FVC images), served WSQ-encoded, EAC-protected; writes -pki/terminal for desks")
	flag.Parse()

	pki, err := vcard.LoadOrCreatePKI(*pkiDir)
	if err != nil {
		return err
	}
	if err := pki.WriteTrustStore(filepath.Join(*pkiDir, "trust")); err != nil {
		return err
	}
	if *expiredDS { // in memory only: the saved PKI keeps its valid DS
		if err := pki.IssueDS(vcard.PKIOptions{DSExpired: true}); err != nil {
			return err
		}
	}
	c := vcard.SampleCitizen()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.IDNumber, *id)
	set(&c.VN.IDNumber, *id)
	set(&c.DateOfBirth, *dob)
	set(&c.DateOfExpiry, *doe)
	set(&c.Surname, *surname)
	set(&c.GivenNames, *given)
	set(&c.VN.FullName, *fullName)
	set(&c.CAN, *can)
	if *face != "" {
		if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(*face, 22000); err != nil {
			return err
		}
	} else {
		return errors.New("-face is required (a JPEG portrait for DG2)")
	}
	if *faceJP2 != "" {
		if c.FaceJP2, err = os.ReadFile(*faceJP2); err != nil {
			return fmt.Errorf("-face-jp2: %w", err)
		}
	}
	mappings := map[string]int{"dh-gm": pace.MappingDHGM, "ecdh-gm": pace.MappingECDHGM, "dh-im": pace.MappingDHIM, "ecdh-im": pace.MappingECDHIM, "ecdh-cam": pace.MappingECDHCAM}
	mapping, ok := mappings[*paceMapping]
	if !ok {
		return fmt.Errorf("-pace-mapping %q: want one of dh-gm, ecdh-gm, dh-im, ecdh-im, ecdh-cam", *paceMapping)
	}
	// Cipher arcs of the PACE OIDs (ICAO Doc 9303 part 11 §9.2.1): 2 AES-128, 3 AES-192, 4 AES-256.
	ciphers := map[int]int{128: 2, 192: 3, 256: 4}
	cipherArc, ok := ciphers[*paceCipher]
	if !ok {
		return fmt.Errorf("-pace-cipher %d: want 128, 192 or 256", *paceCipher)
	}
	var paceProto asn1.ObjectIdentifier
	if mapping != pace.MappingECDHGM || cipherArc != 2 {
		paceProto = pace.Protocol(mapping, cipherArc)
	}
	opts := vcard.Options{
		ShortOnly: *short, Forge: vcard.Forgery(*forge), BadMACAfter: *badMAC, Truncate: *truncate,
		AbsurdLength: *absurd, PullAfter: *pull, PACEParamID: *paceID, PACEProtocol: paceProto, CAMLie: *camLie, CADH: *caDH, CloneChip: *clone, AARSA: *aaRSA,
	}
	if *fingers != "" {
		for i, path := range strings.Split(*fingers, ",") {
			f, err := wsqFinger(path, byte(i%10+1))
			if err != nil {
				return err
			}
			c.Fingers = append(c.Fingers, f)
		}
		ep, err := vcard.LoadOrCreateEACPKI(filepath.Join(*pkiDir, "eac"))
		if err != nil {
			return err
		}
		term, err := ep.Terminal("VNDESK00001")
		if err != nil {
			return err
		}
		if err := eac.SaveTerminal(filepath.Join(*pkiDir, "terminal"), term); err != nil {
			return err
		}
		opts.CVCA = ep.CVCA
	}
	card, err := vcard.Personalise(c, pki, opts)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	log.Info("virtual CCCD ready", "vpcd", *addr, "trust_store", filepath.Join(*pkiDir, "trust"), "pace", *paceID, "dg3", len(c.Fingers) > 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for {
		serve := card.Serve
		if *lockHeld {
			serve = card.ServeHeld
		}
		err := serve(ctx, *addr)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, vcard.ErrPulled):
			log.Info("card pulled out")
			if *once {
				return nil
			}
		case err != nil:
			log.Warn("vpcd connection", "err", err)
		default:
			log.Info("vpcd closed the connection")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second): // re-insert
		}
	}
}
