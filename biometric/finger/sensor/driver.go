package sensor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/tarm/serial"
)

// Port is the byte link to the module: a serial port in production, the same over a pty in tests.
// Read must return within a short poll interval (io.EOF or n == 0 when nothing arrived) so that the
// driver can honour deadlines and contexts.
type Port interface {
	io.ReadWriteCloser
	Flush() error
}

// Opener opens the port at path with the given baud rate, 8N1.
type Opener func(path string, baud int) (Port, error)

// pollInterval is the serial read timeout: the granularity of deadlines and cancellation.
const pollInterval = 100 * time.Millisecond

// SerialOpener opens a serial device (or pty) with github.com/tarm/serial, 8N1, raw mode.
func SerialOpener(path string, baud int) (Port, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: pollInterval})
	if err != nil {
		return nil, fmt.Errorf("open %s at %d baud: %w", path, baud, err)
	}
	return p, nil
}

// Errors of the driver.
var (
	ErrTimeout      = errors.New("sensor: no answer from the module")
	ErrDisconnected = errors.New("sensor: serial link lost")
	ErrGarbled      = errors.New("sensor: garbled answer")
)

// DefaultBaud is the factory link speed of R30x modules (57600 8N1).
const DefaultBaud = 57600

// standardBauds are the rates tried when the module does not answer at the expected one; all are
// N × 9600 as SetSysPara accepts, and standard termios rates.
var standardBauds = []int{57600, 115200, 9600, 19200, 38400}

// Config says where the module is and what link to negotiate.
type Config struct {
	Path       string
	Address    uint32        // 0 means DefaultAddress
	Password   uint32        // VfyPwd password, factory 0
	Baud       int           // wanted baud (N × 9600, ≤ 115200); 0 means 115200
	PacketSize int           // wanted data packet size 32/64/128/256; 0 means 256
	Timeout    time.Duration // answer timeout per packet; 0 means 1 s
	Retries    int           // re-sends of a command after a timeout or garbled answer; 0 means 3
	Reconnect  time.Duration // how long to keep trying to reopen a lost port; 0 means 10 s
	Open       Opener        // nil means SerialOpener
	Logger     *slog.Logger  // nil means slog.Default(); never logs image data
}

// Stats counts the link's troubles since Open (for tests and diagnostics).
type Stats struct {
	Retries, Resyncs, Reconnects, BadChecksums int
}

// Device is an open, negotiated sensor. Its methods are safe for concurrent use (they serialise).
type Device struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex
	port    Port
	cr      *ctxReader
	rd      *Reader
	baud    int
	pktSize int
	stats   Stats
}

// SysPara is the module's system parameter block (ReadSysPara, 16 bytes).
type SysPara struct {
	Status, SystemID, LibrarySize, SecurityLevel uint16
	Address                                      uint32
	PacketSize                                   int // bytes
	Baud                                         int
}

// Open connects to the module: finds the baud it answers at, verifies the password, then raises the
// packet size and baud to the configured ones (reopening the port at the new rate).
func Open(ctx context.Context, cfg Config) (*Device, error) {
	if cfg.Address == 0 {
		cfg.Address = DefaultAddress
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Baud%9600 != 0 || cfg.Baud > 115200 || !isStandard(cfg.Baud) {
		return nil, fmt.Errorf("sensor: baud %d is not a standard N×9600 rate up to 115200", cfg.Baud)
	}
	if cfg.PacketSize == 0 {
		cfg.PacketSize = 256
	}
	if packetCode(cfg.PacketSize) < 0 {
		return nil, fmt.Errorf("sensor: packet size %d not one of 32, 64, 128, 256", cfg.PacketSize)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Reconnect == 0 {
		cfg.Reconnect = 10 * time.Second
	}
	if cfg.Open == nil {
		cfg.Open = SerialOpener
	}
	d := &Device{cfg: cfg, log: cfg.Logger}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(ctx); err != nil {
		d.closePort()
		return nil, err
	}
	return d, nil
}

func isStandard(b int) bool {
	for _, s := range standardBauds {
		if s == b {
			return true
		}
	}
	return false
}

func packetCode(size int) int {
	switch size {
	case 32:
		return 0
	case 64:
		return 1
	case 128:
		return 2
	case 256:
		return 3
	}
	return -1
}

// Close releases the port.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closePort()
}

func (d *Device) closePort() error {
	if d.port == nil {
		return nil
	}
	err := d.port.Close()
	d.port, d.rd, d.cr = nil, nil, nil
	return err
}

// Baud is the link speed in use.
func (d *Device) Baud() int { d.mu.Lock(); defer d.mu.Unlock(); return d.baud }

// PacketSize is the data packet size in use.
func (d *Device) PacketSize() int { d.mu.Lock(); defer d.mu.Unlock(); return d.pktSize }

// Stats returns the link counters.
func (d *Device) Stats() Stats { d.mu.Lock(); defer d.mu.Unlock(); return d.stats }

func (d *Device) openAt(baud int) error {
	d.closePort()
	p, err := d.cfg.Open(d.cfg.Path, baud)
	if err != nil {
		return err
	}
	d.port, d.baud = p, baud
	d.cr = &ctxReader{p: p}
	d.rd = NewReader(d.cr)
	return nil
}

// connect finds the module's baud, verifies the password and negotiates packet size and baud.
func (d *Device) connect(ctx context.Context) error {
	tries := standardBauds
	if d.baud != 0 {
		tries = append([]int{d.baud}, tries...)
	}
	var lastErr error
	found := false
	for _, b := range tries {
		if err := d.openAt(b); err != nil {
			return err
		}
		err := d.verifyPassword(ctx, 1)
		var ae *AckError
		if errors.As(err, &ae) && ae.Code == AckBadPassword {
			return err
		}
		if err == nil {
			found = true
			break
		}
		if ctx.Err() != nil || errors.Is(err, ErrDisconnected) {
			return err
		}
		lastErr = err
	}
	if !found {
		return fmt.Errorf("sensor: no module answers on %s at any standard baud: %w", d.cfg.Path, lastErr)
	}
	sp, err := d.readSysPara(ctx)
	if err != nil {
		return err
	}
	d.pktSize = sp.PacketSize
	if sp.PacketSize != d.cfg.PacketSize {
		if err := d.setSysPara(ctx, ParamPacketSize, byte(packetCode(d.cfg.PacketSize))); err != nil {
			return fmt.Errorf("set packet size: %w", err)
		}
		d.pktSize = d.cfg.PacketSize
	}
	if d.baud != d.cfg.Baud {
		old := d.baud
		// The module acknowledges at the old rate, then switches.
		if err := d.setSysPara(ctx, ParamBaud, byte(d.cfg.Baud/9600)); err != nil {
			return fmt.Errorf("set baud: %w", err)
		}
		if err := d.openAt(d.cfg.Baud); err != nil {
			return err
		}
		if err := d.verifyPassword(ctx, d.cfg.Retries); err != nil {
			return fmt.Errorf("after switching from %d to %d baud: %w", old, d.cfg.Baud, err)
		}
	}
	d.log.Info("fingerprint sensor connected", "baud", d.baud, "packet", d.pktSize)
	return nil
}

func (d *Device) verifyPassword(ctx context.Context, retries int) error {
	var pl [5]byte
	pl[0] = CmdVfyPwd
	binary.BigEndian.PutUint32(pl[1:], d.cfg.Password)
	_, err := d.command(ctx, pl[:], retries)
	return err
}

func (d *Device) readSysPara(ctx context.Context) (SysPara, error) {
	p, err := d.command(ctx, []byte{CmdReadSysPara}, d.cfg.Retries)
	if err != nil {
		return SysPara{}, fmt.Errorf("read system parameters: %w", err)
	}
	if len(p.Payload) < 17 {
		return SysPara{}, fmt.Errorf("read system parameters: %w: %d-byte answer", ErrGarbled, len(p.Payload))
	}
	b := p.Payload[1:]
	sp := SysPara{
		Status:        binary.BigEndian.Uint16(b[0:]),
		SystemID:      binary.BigEndian.Uint16(b[2:]),
		LibrarySize:   binary.BigEndian.Uint16(b[4:]),
		SecurityLevel: binary.BigEndian.Uint16(b[6:]),
		Address:       binary.BigEndian.Uint32(b[8:]),
		Baud:          int(binary.BigEndian.Uint16(b[14:])) * 9600,
	}
	code := binary.BigEndian.Uint16(b[12:])
	if code > 3 {
		return SysPara{}, fmt.Errorf("read system parameters: %w: packet size code %d", ErrGarbled, code)
	}
	sp.PacketSize = 32 << code
	return sp, nil
}

func (d *Device) setSysPara(ctx context.Context, param, value byte) error {
	_, err := d.command(ctx, []byte{CmdSetSysPara, param, value}, d.cfg.Retries)
	return err
}

// ReadSysPara reads the module's system parameters.
func (d *Device) ReadSysPara(ctx context.Context) (SysPara, error) {
	var sp SysPara
	err := d.do(ctx, func() error {
		var err error
		sp, err = d.readSysPara(ctx)
		return err
	})
	return sp, err
}

// do runs op under the lock; when the link is lost it reopens the port (the USB adapter was unplugged
// and plugged back) and runs op once more.
func (d *Device) do(ctx context.Context, op func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.port == nil {
		if err := d.reconnect(ctx); err != nil {
			return err
		}
	}
	err := op()
	if !errors.Is(err, ErrDisconnected) {
		return err
	}
	if err := d.reconnect(ctx); err != nil {
		return err
	}
	return op()
}

func (d *Device) reconnect(ctx context.Context) error {
	d.closePort()
	d.stats.Reconnects++
	d.log.Warn("fingerprint sensor link lost, reopening", "path", d.cfg.Path)
	deadline := time.Now().Add(d.cfg.Reconnect)
	backoff := 50 * time.Millisecond
	for {
		err := d.connect(ctx)
		if err == nil {
			return nil
		}
		d.closePort()
		if time.Now().After(deadline) {
			return fmt.Errorf("sensor: reconnect to %s: %w", d.cfg.Path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sensor: reconnect: %w", ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// command sends a command packet and returns the module's ack, re-sending after a timeout or a garbled
// answer. A non-zero confirmation code is returned as *AckError along with the packet.
func (d *Device) command(ctx context.Context, payload []byte, retries int) (Packet, error) {
	pkt := Packet{Addr: d.cfg.Address, ID: PidCommand, Payload: payload}.Encode()
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			d.stats.Retries++
		}
		if err := ctx.Err(); err != nil {
			return Packet{}, err
		}
		_ = d.port.Flush() // drop stale input: a late answer must not pass for this one's
		d.rd = NewReader(d.cr)
		if _, err := d.port.Write(pkt); err != nil {
			return Packet{}, fmt.Errorf("%w: write: %v", ErrDisconnected, err)
		}
		p, err := d.readAck(ctx)
		if err == nil {
			if p.Payload[0] != AckOK {
				return p, &AckError{Code: p.Payload[0]}
			}
			return p, nil
		}
		if errors.Is(err, ErrDisconnected) || ctx.Err() != nil {
			return Packet{}, err
		}
		lastErr = err
	}
	return Packet{}, fmt.Errorf("command 0x%02X: %w", payload[0], lastErr)
}

func (d *Device) readAck(ctx context.Context) (Packet, error) {
	d.cr.arm(ctx, d.cfg.Timeout)
	for {
		p, err := d.readPacket()
		if err != nil {
			return Packet{}, err
		}
		if p.ID == PidAck && p.Addr == d.cfg.Address && len(p.Payload) >= 1 {
			return p, nil
		}
		d.stats.Resyncs++ // a stray data packet or foreign address: skip it
	}
}

func (d *Device) readPacket() (Packet, error) {
	before := d.rd.Skipped
	p, err := d.rd.ReadPacket()
	if d.rd.Skipped != before {
		d.stats.Resyncs++
	}
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, ErrChecksum):
		d.stats.BadChecksums++
		return Packet{}, fmt.Errorf("%w: %v", ErrGarbled, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Packet{}, fmt.Errorf("%w: short packet", ErrGarbled)
	}
	return Packet{}, err
}

// GenImg asks the module to capture an image; *AckError with AckNoFinger when no finger is there.
func (d *Device) GenImg(ctx context.Context) error {
	return d.do(ctx, func() error {
		_, err := d.command(ctx, []byte{CmdGenImg}, d.cfg.Retries)
		return err
	})
}

// WaitFinger polls GenImg every interval until a finger image is captured or ctx ends.
func (d *Device) WaitFinger(ctx context.Context, interval time.Duration) error {
	for {
		err := d.GenImg(ctx)
		var ae *AckError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ae) && (ae.Code == AckNoFinger || ae.Code == AckImageFailed):
		default:
			return fmt.Errorf("wait for finger: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for finger: %w", ctx.Err())
		case <-time.After(interval):
		}
	}
}

// UpImage uploads the module's image buffer (256×288, 4 bits per pixel), re-requesting it when a data
// packet arrives damaged.
func (d *Device) UpImage(ctx context.Context) (*image.Gray, error) {
	var img *image.Gray
	err := d.do(ctx, func() error {
		var lastErr error
		for attempt := 0; attempt <= d.cfg.Retries; attempt++ {
			data, err := d.upImageOnce(ctx)
			if err == nil {
				img, err = Unpack(data)
				return err
			}
			if !errors.Is(err, ErrGarbled) && !errors.Is(err, ErrTimeout) {
				return err
			}
			d.stats.Retries++
			lastErr = err
		}
		return fmt.Errorf("upload image: %w", lastErr)
	})
	return img, err
}

func (d *Device) upImageOnce(ctx context.Context) ([]byte, error) {
	if _, err := d.command(ctx, []byte{CmdUpImage}, d.cfg.Retries); err != nil {
		return nil, fmt.Errorf("upload image: %w", err)
	}
	data := make([]byte, 0, ImageBytes)
	var garbled error
	for {
		d.cr.arm(ctx, d.cfg.Timeout)
		p, err := d.readPacket()
		if errors.Is(err, ErrGarbled) {
			// Keep reading to the end of the transfer so the next request starts clean.
			garbled = err
			data = append(data, make([]byte, d.pktSize)...)
			if len(data) >= ImageBytes {
				return nil, garbled
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("upload image after %d bytes: %w", len(data), err)
		}
		if p.ID != PidData && p.ID != PidDataLast {
			d.stats.Resyncs++
			continue
		}
		data = append(data, p.Payload...)
		if len(data) > ImageBytes {
			return nil, fmt.Errorf("upload image: %w: %d bytes", ErrGarbled, len(data))
		}
		if p.ID == PidDataLast {
			break
		}
	}
	if garbled != nil {
		return nil, garbled
	}
	if len(data) != ImageBytes {
		return nil, fmt.Errorf("upload image: %w: %d of %d bytes", ErrGarbled, len(data), ImageBytes)
	}
	return data, nil
}

// Capture waits for a finger, then uploads its image.
func (d *Device) Capture(ctx context.Context, interval time.Duration) (*image.Gray, error) {
	if err := d.WaitFinger(ctx, interval); err != nil {
		return nil, err
	}
	return d.UpImage(ctx)
}

// ctxReader turns the port's short read timeouts into a per-transaction deadline and context check.
type ctxReader struct {
	p        Port
	ctx      context.Context
	deadline time.Time
}

func (c *ctxReader) arm(ctx context.Context, timeout time.Duration) {
	c.ctx, c.deadline = ctx, time.Now().Add(timeout)
}

func (c *ctxReader) Read(b []byte) (int, error) {
	for {
		n, err := c.p.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EBADF) ||
				errors.Is(err, syscall.ENODEV) {
				return 0, fmt.Errorf("%w: %v", ErrDisconnected, err)
			}
			return 0, err
		}
		if c.ctx != nil && c.ctx.Err() != nil {
			return 0, c.ctx.Err()
		}
		if time.Now().After(c.deadline) {
			return 0, ErrTimeout
		}
		if err == nil {
			time.Sleep(10 * time.Millisecond) // a port that returns (0, nil) must not spin
		}
	}
}
