package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcscd"
	"enrolldesk/reader/vcard"
)

// The virtual desk peripherals for end-to-end runs: pcscd (started when its socket is absent) and
// a virtual CCCD served to vsmartcard-vpcd, signed by a fresh test CSCA whose trust store the
// desk loads. The citizen is printed by the e2e suite from the same constants.

const (
	// vpcdReader is vpcd's FRIENDLYNAME in /etc/reader.conf.d/vpcd.
	vpcdReader = "Virtual PCD"
)

// e2eCitizen is the sample CCCD holder with an ID number consistent with her sex and century
// (Circular 07/2016/TT-BCA art. 7: digit 4 is 1 for a woman born 1900–1999).
func e2eCitizen(facePath string) (*vcard.Citizen, error) {
	c := vcard.SampleCitizen()
	c.IDNumber = "001199012345"
	c.VN.IDNumber = c.IDNumber
	var err error
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(facePath, 22000); err != nil {
		return nil, fmt.Errorf("virtual card face: %w", err)
	}
	return c, nil
}

// servedCard is the CCCD the bridge serves to vpcd. The test hooks can swap it for another
// citizen's card (the same test CSCA signs both): the served card leaves the reader and the new
// one is placed, as when a citizen hands over another card.
type servedCard struct {
	ctx   context.Context
	pki   *vcard.PKI
	trust *pa.TrustStore

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	face   string

	stopPCSCD func()
}

// startVirtualCard starts pcscd if needed, personalises the card and serves it to vpcd. With
// trustOut the trust store is also written there, for another desk that reads the same card.
//
// The machine-wide vpcd lock (reader/vcard.AcquireVPCD) is taken first and held until stop: vpcd
// has one card slot, and a pcscd this bridge starts must not be stopped under another process
// that reuses it (two e2e runs, or a reader test, at the same time wait for each other instead).
func startVirtualCard(ctx context.Context, facePath, trustOut string) (*servedCard, error) {
	fmt.Fprintln(os.Stderr, "bridge: taking the vpcd lock", vcard.LockPath, "(waits while another test uses the virtual reader)")
	release, err := vcard.AcquireVPCD(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		release()
		return nil, fmt.Errorf("vsmartcard-vpcd is not installed: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	stopPCSCD, err := pcscd.Ensure(pctx, vpcdReader)
	cancel()
	if err != nil {
		release()
		return nil, err
	}
	v, err := newVirtualCard(ctx, trustOut)
	if err != nil {
		stopPCSCD()
		release()
		return nil, err
	}
	v.stopPCSCD = func() {
		stopPCSCD()
		release()
	}
	if err := v.insert(facePath); err != nil {
		v.stopPCSCD()
		return nil, err
	}
	return v, nil
}

func newVirtualCard(ctx context.Context, trustOut string) (*servedCard, error) {
	pki, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "enrolldesk-csca-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := pki.WriteTrustStore(dir); err != nil {
		return nil, err
	}
	trust, err := pa.LoadTrustStore(dir)
	if err != nil {
		return nil, err
	}
	if trustOut != "" {
		// Written beside and renamed into place, so a reader waiting for the folder never
		// sees half of it.
		tmp := trustOut + ".tmp"
		_ = os.RemoveAll(tmp)
		if err := pki.WriteTrustStore(tmp); err != nil {
			return nil, fmt.Errorf("write trust store: %w", err)
		}
		_ = os.RemoveAll(trustOut)
		if err := os.Rename(tmp, trustOut); err != nil {
			return nil, fmt.Errorf("write trust store: %w", err)
		}
	}
	return &servedCard{ctx: ctx, pki: pki, trust: trust}, nil
}

// insert takes out the card being served, if any, and places the e2e citizen's card with the
// face at facePath.
func (v *servedCard) insert(facePath string) error {
	citizen, err := e2eCitizen(facePath)
	if err != nil {
		return err
	}
	// PACE with brainpoolP256r1 (parameter id 13, BSI TR-03110 part 3 table 4), as cmd/vcard serves.
	card, err := vcard.Personalise(citizen, v.pki, vcard.Options{PACEParamID: 13})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.eject()
	cctx, cancel := context.WithCancel(v.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// vpcd accepts one card connection; reconnect when the reader side resets it.
		for cctx.Err() == nil {
			if err := card.Serve(cctx, vcard.DefaultVPCD); err != nil && cctx.Err() == nil {
				select {
				case <-cctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	v.cancel, v.done, v.face = cancel, done, facePath
	return nil
}

// eject stops serving the current card (vpcd sees it leave the reader). Caller holds v.mu.
func (v *servedCard) eject() {
	if v.cancel != nil {
		v.cancel()
		<-v.done
		v.cancel, v.done = nil, nil
	}
}

// stop takes the card out, stops a pcscd this process started and releases the vpcd lock.
func (v *servedCard) stop() {
	v.mu.Lock()
	v.eject()
	v.mu.Unlock()
	v.stopPCSCD()
}
