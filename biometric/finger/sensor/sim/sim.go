// Package sim is an R30x fingerprint module simulator on a pseudo-terminal. It speaks the module's
// serial protocol byte for byte (see package sensor), serves images from a source, reads the baud rate
// that the host set on the tty (the pty pair shares one termios) and answers garbage when it differs
// from the module's own rate, paces its output at the link's speed, and misbehaves on demand (noise,
// bad checksums, slow answers, silence, unplugging). cmd/fpsim wraps it as a program; tests use it
// in-process.
package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"enrolldesk/biometric/finger/sensor"
)

// Source returns the image for the n-th capture (n counts from 0). Images of any size are framed to
// the sensor's 256×288 by sensor.FromImage and quantised to 4 bits.
type Source func(n int) (*image.Gray, error)

// Options configure a simulator.
type Options struct {
	Link        string  // if set, a symlink at this path points to the current pty (stable across unplugs)
	Source      Source  // required
	Password    uint32  // module password (factory 0)
	Address     uint32  // module address; 0 means sensor.DefaultAddress
	Baud        int     // module's initial baud; 0 means 57600
	PacketSize  int     // module's initial data packet size; 0 means 128
	FingerAfter int     // GenImg polls answered "no finger" before each finger arrives
	Pace        float64 // link speed factor: 1 (or 0) paces bytes at the baud rate, 10 ten times faster
	Logger      *slog.Logger
}

// Faults are misbehaviours switched on at run time.
type Faults struct {
	Noise       bool          // random bytes before every answer packet
	BadChecksum int           // damage the checksum of this many upcoming packets
	Slow        time.Duration // delay before every answer
	Silent      bool          // never answer
}

// Counters says what the simulator saw, for tests.
type Counters struct {
	Commands, BaudMismatches, Captures, Uploads, Unplugs int
}

// Sim is a running simulator.
type Sim struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	master  *os.File
	slave   *os.File
	faults  Faults
	baud    int
	pktSize int
	polls   int
	image   []byte // packed image buffer, nil until GenImg succeeds
	next    int    // index of the next capture
	cnt     Counters
	rng     *rand.Rand
	closed  bool
	gen     int // pty generation, bumped by Unplug
	wg      sync.WaitGroup
	replug  *time.Timer
}

// Start creates the pty pair and serves on it until Close.
func Start(opts Options) (*Sim, error) {
	if opts.Source == nil {
		return nil, errors.New("sim: no image source")
	}
	if opts.Address == 0 {
		opts.Address = sensor.DefaultAddress
	}
	if opts.Baud == 0 {
		opts.Baud = sensor.DefaultBaud
	}
	if opts.PacketSize == 0 {
		opts.PacketSize = 128
	}
	if opts.Pace <= 0 {
		opts.Pace = 1
	}
	s := &Sim{opts: opts, log: opts.Logger, baud: opts.Baud, pktSize: opts.PacketSize,
		rng: rand.New(rand.NewPCG(1, 2))}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.plug(); err != nil {
		return nil, err
	}
	return s, nil
}

// plug creates a new pty pair and starts serving it; s.mu is held.
func (s *Sim) plug() error {
	m, sl, err := pty.Open()
	if err != nil {
		return fmt.Errorf("sim: open pty: %w", err)
	}
	// Raw mode until the host configures the port, so nothing is echoed back into the link.
	if t, err := unix.IoctlGetTermios(int(sl.Fd()), unix.TCGETS); err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag = t.Cflag&^(unix.CSIZE|unix.PARENB|unix.CBAUD) | unix.CS8 | unix.B9600
		_ = unix.IoctlSetTermios(int(sl.Fd()), unix.TCSETS, t)
	}
	s.master, s.slave = m, sl
	s.gen++
	if s.opts.Link != "" {
		tmp := s.opts.Link + ".new"
		_ = os.Remove(tmp)
		if err := os.Symlink(sl.Name(), tmp); err != nil {
			return fmt.Errorf("sim: link: %w", err)
		}
		if err := os.Rename(tmp, s.opts.Link); err != nil {
			return fmt.Errorf("sim: link: %w", err)
		}
	}
	s.wg.Add(1)
	go s.serve(m, sl, s.gen)
	return nil
}

// Path is the device path a driver opens: the link if configured, else the pty's slave.
func (s *Sim) Path() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Link != "" {
		return s.opts.Link
	}
	return s.slave.Name()
}

// SetFaults replaces the active faults.
func (s *Sim) SetFaults(f Faults) { s.mu.Lock(); s.faults = f; s.mu.Unlock() }

// Counters returns what the simulator has seen so far.
func (s *Sim) Counters() Counters { s.mu.Lock(); defer s.mu.Unlock(); return s.cnt }

// Baud is the module's current link speed.
func (s *Sim) Baud() int { s.mu.Lock(); defer s.mu.Unlock(); return s.baud }

// PacketSize is the module's current data packet size.
func (s *Sim) PacketSize() int { s.mu.Lock(); defer s.mu.Unlock(); return s.pktSize }

// Unplug drops the link as a pulled USB adapter does (the host's reads fail, the device path
// disappears) and plugs it back after down. The module keeps its settings (they live in its flash).
func (s *Sim) Unplug(down time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.master == nil {
		return
	}
	s.cnt.Unplugs++
	s.unplugLocked()
	s.replug = time.AfterFunc(down, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed && s.master == nil {
			if err := s.plug(); err != nil {
				s.log.Error("fpsim: replug failed", "err", err)
			}
		}
	})
}

func (s *Sim) unplugLocked() {
	if s.opts.Link != "" {
		_ = os.Remove(s.opts.Link)
	}
	_ = s.master.Close()
	_ = s.slave.Close()
	s.master, s.slave = nil, nil
}

// Close stops the simulator and removes its link.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.replug != nil {
		s.replug.Stop()
	}
	if s.master != nil {
		s.unplugLocked()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// hostBaud reads the rate the host set on the tty.
func hostBaud(f *os.File) int {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return 0
	}
	switch t.Cflag & unix.CBAUD {
	case unix.B9600:
		return 9600
	case unix.B19200:
		return 19200
	case unix.B38400:
		return 38400
	case unix.B57600:
		return 57600
	case unix.B115200:
		return 115200
	case unix.B230400:
		return 230400
	}
	return -1
}

func (s *Sim) serve(m, sl *os.File, gen int) {
	defer s.wg.Done()
	buf := make([]byte, 4096)
	var in []byte
	for {
		n, err := m.Read(buf)
		if err != nil {
			return // closed by Unplug or Close
		}
		s.mu.Lock()
		if s.gen != gen {
			s.mu.Unlock()
			return
		}
		moduleBaud, silent := s.baud, s.faults.Silent
		s.mu.Unlock()
		if silent {
			continue
		}
		if hb := hostBaud(sl); hb != moduleBaud {
			// The module samples the host's bytes at the wrong rate: it sees noise, and its answer
			// arrives as noise at the host.
			s.mu.Lock()
			s.cnt.BaudMismatches++
			junk := make([]byte, n/2+1)
			for i := range junk {
				junk[i] = byte(s.rng.UintN(256))
			}
			s.mu.Unlock()
			in = in[:0]
			s.write(m, junk, moduleBaud)
			continue
		}
		in = append(in, buf[:n]...)
		for {
			// resynchronise on the header
			k := 0
			for k+1 < len(in) && !(in[k] == 0xEF && in[k+1] == 0x01) {
				k++
			}
			in = in[k:]
			p, used, err := sensor.Decode(in)
			if err != nil && used == 0 {
				if len(in) >= 9 && !errors.Is(err, io.ErrUnexpectedEOF) {
					in = in[1:] // implausible header: skip a byte
					continue
				}
				break
			}
			in = in[used:]
			if err != nil {
				s.reply(m, sl, []byte{sensor.AckRecvError})
				continue
			}
			if p.ID == sensor.PidCommand && p.Addr == s.opts.Address && len(p.Payload) > 0 {
				s.handle(m, sl, p.Payload)
			}
		}
	}
}

func (s *Sim) handle(m, sl *os.File, pl []byte) {
	s.mu.Lock()
	s.cnt.Commands++
	slow := s.faults.Slow
	s.mu.Unlock()
	if slow > 0 {
		time.Sleep(slow)
	}
	switch pl[0] {
	case sensor.CmdVfyPwd:
		if len(pl) != 5 {
			s.reply(m, sl, []byte{sensor.AckRecvError})
		} else if binary.BigEndian.Uint32(pl[1:]) != s.opts.Password {
			s.reply(m, sl, []byte{sensor.AckBadPassword})
		} else {
			s.reply(m, sl, []byte{sensor.AckOK})
		}
	case sensor.CmdHandshake:
		s.reply(m, sl, []byte{sensor.AckOK})
	case sensor.CmdReadSysPara:
		s.mu.Lock()
		r := make([]byte, 17)
		binary.BigEndian.PutUint16(r[1+4:], 1000) // library size
		binary.BigEndian.PutUint16(r[1+6:], 3)    // security level
		binary.BigEndian.PutUint32(r[1+8:], s.opts.Address)
		binary.BigEndian.PutUint16(r[1+12:], uint16(map[int]int{32: 0, 64: 1, 128: 2, 256: 3}[s.pktSize]))
		binary.BigEndian.PutUint16(r[1+14:], uint16(s.baud/9600))
		s.mu.Unlock()
		s.reply(m, sl, r)
	case sensor.CmdSetSysPara:
		if len(pl) != 3 {
			s.reply(m, sl, []byte{sensor.AckRecvError})
			return
		}
		switch v := int(pl[2]); pl[1] {
		case sensor.ParamBaud:
			if v < 1 || v > 12 {
				s.reply(m, sl, []byte{sensor.AckBadRegister})
				return
			}
			s.reply(m, sl, []byte{sensor.AckOK}) // acknowledged at the old rate
			s.mu.Lock()
			s.baud = v * 9600
			s.mu.Unlock()
		case sensor.ParamPacketSize:
			if v > 3 {
				s.reply(m, sl, []byte{sensor.AckBadRegister})
				return
			}
			s.mu.Lock()
			s.pktSize = 32 << v
			s.mu.Unlock()
			s.reply(m, sl, []byte{sensor.AckOK})
		case sensor.ParamSecurity:
			s.reply(m, sl, []byte{sensor.AckOK})
		default:
			s.reply(m, sl, []byte{sensor.AckBadRegister})
		}
	case sensor.CmdGenImg:
		s.genImg(m, sl)
	case sensor.CmdUpImage:
		s.mu.Lock()
		img, size := s.image, s.pktSize
		s.mu.Unlock()
		if img == nil {
			s.reply(m, sl, []byte{sensor.AckInvalidImage})
			return
		}
		s.mu.Lock()
		s.cnt.Uploads++
		s.polls = 0 // the finger is lifted after an upload
		s.mu.Unlock()
		s.reply(m, sl, []byte{sensor.AckOK})
		for off := 0; off < len(img); off += size {
			id := byte(sensor.PidData)
			if off+size >= len(img) {
				id = sensor.PidDataLast
			}
			s.send(m, sl, sensor.Packet{Addr: s.opts.Address, ID: id, Payload: img[off:min(off+size, len(img))]})
		}
	default:
		s.reply(m, sl, []byte{sensor.AckBadCommand})
	}
}

func (s *Sim) genImg(m, sl *os.File) {
	s.mu.Lock()
	if s.polls < s.opts.FingerAfter {
		s.polls++
		s.mu.Unlock()
		s.reply(m, sl, []byte{sensor.AckNoFinger})
		return
	}
	n := s.next
	s.mu.Unlock()
	img, err := s.opts.Source(n)
	var packed []byte
	if err == nil {
		packed, err = sensor.Pack(sensor.FromImage(img))
	}
	if err != nil {
		s.log.Error("fpsim: image source failed", "n", n, "err", err)
		s.reply(m, sl, []byte{sensor.AckImageFailed})
		return
	}
	s.mu.Lock()
	s.image = packed
	s.next++
	s.cnt.Captures++
	s.mu.Unlock()
	s.reply(m, sl, []byte{sensor.AckOK})
}

func (s *Sim) reply(m, sl *os.File, payload []byte) {
	s.send(m, sl, sensor.Packet{Addr: s.opts.Address, ID: sensor.PidAck, Payload: payload})
}

func (s *Sim) send(m, sl *os.File, p sensor.Packet) {
	b := p.Encode()
	s.mu.Lock()
	if s.faults.BadChecksum > 0 {
		s.faults.BadChecksum--
		b[len(b)-1] ^= 0x5A
	}
	if s.faults.Noise {
		junk := make([]byte, 1+s.rng.IntN(8))
		for i := range junk {
			junk[i] = byte(s.rng.UintN(256))
		}
		b = append(junk, b...)
	}
	baud := s.baud
	s.mu.Unlock()
	if hb := hostBaud(sl); hb != baud {
		return // the host changed rate meanwhile; the answer is lost as noise
	}
	s.write(m, b, baud)
}

// write paces b at baud (10 bits per byte on an 8N1 line), scaled by Pace.
func (s *Sim) write(m *os.File, b []byte, baud int) {
	const chunk = 64
	perByte := time.Duration(float64(10*time.Second) / float64(baud) / s.opts.Pace)
	start := time.Now()
	for off := 0; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		if _, err := m.Write(b[off:end]); err != nil {
			return
		}
		if wait := time.Until(start.Add(time.Duration(end) * perByte)); wait > 0 {
			time.Sleep(wait)
		}
	}
}
