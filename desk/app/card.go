package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/bac"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/pcsc"
)

// CardReader reads and proves a chip ID card (reader/ does the ICAO 9303 work).
type CardReader interface {
	// Status says whether the reader is there and whether a card is in it.
	Status(ctx context.Context) DeviceStatus
	// Read reads the chip with the access key; progress gets the bytes read of each file.
	Read(ctx context.Context, key reader.AccessKey, progress func(file string, read, total int)) (*reader.ChipData, *pa.Verdict, error)
}

// DeviceStatus is one device as the device panel shows it.
type DeviceStatus struct {
	Kind   string `json:"kind"`   // "reader", "camera", "sensor"
	State  string `json:"state"`  // "ready", "no_card", "missing", "error"
	Name   string `json:"name"`   // the device's own name (no personal data)
	Detail string `json:"detail"` // English, for support
}

// Device states.
const (
	DeviceReady   = "ready"
	DeviceNoCard  = "no_card"
	DeviceMissing = "missing"
	DeviceError   = "error"
)

// Card error codes the frontend translates.
const (
	CodeCardKey     = "card_key"     // BAC refused the access key
	CodeNoCard      = "no_card"      // no card in the reader
	CodeCardRemoved = "card_removed" // the card left the reader during the read
	CodeCardRead    = "card_read"    // any other read or parse failure
	CodeChipRefused = "chip_refused" // the chip was read but the workflow refuses it (PA, AA/CA, ID)
)

// PCSCReader is the CardReader over PC/SC (pcscd): any CCID reader, or vpcd's virtual one.
type PCSCReader struct {
	// Match picks the reader whose name contains it; "" takes the first reader.
	Match string
	// Trust is the CSCA trust store for passive authentication; nil means the chain check is
	// "unavailable" and the workflow refuses the chip.
	Trust *pa.TrustStore
}

// SetReaderMatch implements ReaderMatchSetter: the reader a supervisor saved. The desk calls it
// before it starts (before the watcher and any read).
func (r *PCSCReader) SetReaderMatch(name string) { r.Match = name }

func (r *PCSCReader) connect() (*pcsc.Context, string, error) {
	c, err := pcsc.Establish()
	if err != nil {
		return nil, "", coded(CodeDeviceMissing, fmt.Errorf("card reader: PC/SC service: %w", err), map[string]string{"device": "reader"})
	}
	names, err := c.Readers()
	if err == nil && len(names) == 0 {
		err = errors.New("no reader connected")
	}
	if err != nil {
		_ = c.Release()
		return nil, "", coded(CodeDeviceMissing, fmt.Errorf("card reader: %w", err), map[string]string{"device": "reader"})
	}
	name := names[0]
	if r.Match != "" {
		if name, err = c.FindReader(r.Match); err != nil {
			_ = c.Release()
			return nil, "", coded(CodeDeviceMissing, fmt.Errorf("card reader %q: %w", r.Match, err), map[string]string{"device": "reader"})
		}
	}
	return c, name, nil
}

// Status implements CardReader.
func (r *PCSCReader) Status(ctx context.Context) DeviceStatus {
	st := DeviceStatus{Kind: "reader"}
	c, name, err := r.connect()
	if err != nil {
		st.State, st.Detail = DeviceMissing, err.Error()
		return st
	}
	defer c.Release()
	st.Name = name
	card, err := c.Connect(name)
	if err != nil {
		st.State, st.Detail = DeviceNoCard, err.Error()
		return st
	}
	_ = card.Close()
	st.State = DeviceReady
	return st
}

// Read implements CardReader. Every read establishes its own PC/SC context, so a read after
// pcscd restarted (or a reader was replugged) works without the officer doing anything. With no
// card in the reader it waits for one until ctx ends (the window shows "place the card").
func (r *PCSCReader) Read(ctx context.Context, key reader.AccessKey, progress func(string, int, int)) (*reader.ChipData, *pa.Verdict, error) {
	c, name, err := r.connect()
	if err != nil {
		return nil, nil, err
	}
	defer c.Release()
	if err := c.WaitCard(ctx, name); err != nil {
		// Not wrapped: the caller's deadline passing here means "no card", not a reader that
		// stopped answering.
		return nil, nil, coded(CodeNoCard, fmt.Errorf("card reader %q: no card placed: %v", name, err), nil)
	}
	card, err := c.Connect(name)
	if err != nil {
		return nil, nil, coded(CodeNoCard, fmt.Errorf("card reader %q: %w", name, err), nil)
	}
	defer card.Close()
	atr, err := card.ATR()
	if err != nil {
		return nil, nil, coded(CodeCardRead, err, nil)
	}
	data, verdict, err := reader.Read(ctx, card, key, reader.Options{ATR: atr, TrustStore: r.Trust, Progress: progress})
	switch {
	case errors.Is(err, bac.ErrAuth), errors.Is(err, pace.ErrAuth):
		return nil, nil, coded(CodeCardKey, err, nil)
	case errors.Is(err, pcsc.ErrCardRemoved):
		return nil, nil, coded(CodeCardRemoved, err, nil)
	case err != nil:
		return nil, nil, coded(CodeCardRead, fmt.Errorf("read chip: %w", err), nil)
	}
	return data, verdict, nil
}

// EventCardState is the event the card step follows while it waits for a card: data CardState.
const EventCardState = "card:state"

// Card presence states (CardState.State).
const (
	CardNoService = "no_service" // pcscd does not answer (stopped, restarting)
	CardNoReader  = "no_reader"  // no (matching) reader is plugged in
	CardAbsent    = "absent"     // a reader, no card on it: "place the card"
	CardPresent   = "present"    // a card is on the reader
)

// CardState is where the card step stands: whether the PC/SC service, a reader and a card are
// there. Reader is the reader's own name (no personal data).
type CardState struct {
	State  string `json:"state"`
	Reader string `json:"reader,omitempty"`
}

// DeviceStatus is the device panel's line for the reader in this state.
func (s CardState) DeviceStatus() DeviceStatus {
	st := DeviceStatus{Kind: "reader", Name: s.Reader}
	switch s.State {
	case CardPresent:
		st.State = DeviceReady
	case CardAbsent:
		st.State = DeviceNoCard
	case CardNoReader:
		st.State, st.Detail = DeviceMissing, "no reader connected"
	default:
		st.State, st.Detail = DeviceMissing, "PC/SC service (pcscd) not answering"
	}
	return st
}

// CardWatcher is the optional side of a CardReader that follows readers and cards as they come
// and go. Watch calls changed with the first state and then at every change, until ctx ends.
type CardWatcher interface {
	Watch(ctx context.Context, changed func(CardState))
}

// Watch implements CardWatcher over reader/pcsc's Watch (PC/SC SCardGetStatusChange with the
// PnP pseudo reader): readers plugged and unplugged, cards placed and lifted, pcscd stopping and
// coming back, all without polling the card itself (a read in progress is never disturbed).
func (r *PCSCReader) Watch(ctx context.Context, changed func(CardState)) {
	events := pcsc.Watch(ctx, pcsc.WatchOptions{Filter: r.Match, Log: slog.Default()})
	readers := map[string]bool{} // reader name → card present
	service := true
	last := CardState{}
	report := func() {
		st := CardState{State: CardNoService}
		if service {
			st.State = CardNoReader
			names := make([]string, 0, len(readers))
			for n := range readers {
				names = append(names, n)
			}
			slices.Sort(names)
			if len(names) > 0 {
				// The reader a read would use: the first of the matching ones (connect's rule).
				st = CardState{State: CardAbsent, Reader: names[0]}
				if readers[names[0]] {
					st.State = CardPresent
				}
			}
		}
		if st != last {
			last = st
			changed(st)
		}
	}
	// pcsc.Watch reports the readers present, then the cards in them, as a burst of events; the
	// first state is reported once the burst has settled (or after 3×settle when nothing comes:
	// no reader at all), so that the card step does not show "place the card" for a card that is
	// already there.
	const settle = 150 * time.Millisecond
	first := time.NewTimer(3 * settle)
	defer first.Stop()
	started := false
	for {
		select {
		case <-first.C:
			started = true
			report()
		case e, ok := <-events:
			if !ok {
				return
			}
			switch e.Kind {
			case pcsc.ReaderAdded:
				readers[e.Reader] = false
				service = true
			case pcsc.ReaderRemoved:
				delete(readers, e.Reader)
			case pcsc.CardInserted:
				readers[e.Reader] = true
			case pcsc.CardRemoved:
				if _, ok := readers[e.Reader]; ok {
					readers[e.Reader] = false
				}
			case pcsc.ServiceLost:
				service = false
				clear(readers)
			case pcsc.ServiceBack:
				service = true
			}
			switch {
			case !started:
				first.Reset(settle)
			case len(events) == 0:
				// Several events at once (a reader's card and the reader leaving together):
				// report once they are all in.
				report()
			}
		}
	}
}

// CardKey is the access key as the officer types it from the card (or its QR code): either the
// 6-digit card access number (CAN, cards issued from 2024, PACE) or the MRZ data.
type CardKey struct {
	CAN string `json:"can"`
	// IDNumber is the 12-digit personal number (or the 9-digit document number of the MRZ).
	IDNumber    string `json:"idNumber"`
	DateOfBirth string `json:"dateOfBirth"` // dd/mm/yyyy
	// DateOfExpiry is dd/mm/yyyy as printed ("Có giá trị đến").
	DateOfExpiry string `json:"dateOfExpiry"`
}

// canPattern: the CAN is 6 digits (ICAO 9303 part 11 §4.4.1, as printed on 2024 CCCDs).
var canPattern = regexp.MustCompile(`^[0-9]{6}$`)

// AccessKey turns the typed key into the reader's: the CAN when given, else the MRZ data.
func (k CardKey) AccessKey() (reader.AccessKey, error) {
	if can := strings.TrimSpace(k.CAN); can != "" {
		if !canPattern.MatchString(can) {
			return reader.AccessKey{}, invalid("can", errors.New("the card access number has 6 digits"))
		}
		return reader.CANKey(can), nil
	}
	bk, err := k.BACKey()
	if err != nil {
		return reader.AccessKey{}, err
	}
	return reader.MRZKey(bk), nil
}

// BACKey turns the typed key into ICAO 9303 part 11's BAC input with reader.KeyFromCCCD (the TD1
// document number of a CCCD is the last 9 digits of the 12-digit ID number).
func (k CardKey) BACKey() (bac.Key, error) {
	id := strings.NewReplacer(" ", "", ".", "", "-", "").Replace(k.IDNumber)
	key, err := reader.KeyFromCCCD(id, k.DateOfBirth, k.DateOfExpiry)
	if err != nil {
		field := "idNumber"
		switch {
		case strings.Contains(err.Error(), "date of birth"):
			field = "dateOfBirth"
		case strings.Contains(err.Error(), "date of expiry"):
			field = "dateOfExpiry"
		}
		return bac.Key{}, invalid(field, err)
	}
	return key, nil
}
