// Package sensor drives R30x / ZFM-family optical fingerprint modules (R305, R307, ZFM-20…) over a
// serial port, and holds the packet codec that the simulator (sensor/sim) shares.
//
// Protocol (Hangzhou Grow R30x user manual, "Communication protocol"): every packet is
//
//	EF 01 | address (4 B, default FF FF FF FF) | packet id (1 B) | length (2 B) | payload | checksum (2 B)
//
// where length counts payload + checksum and the checksum is the low 16 bits of the sum of the packet id,
// the two length bytes and the payload bytes. All multi-byte fields are big-endian.
package sensor

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet identifiers.
const (
	PidCommand  = 0x01
	PidData     = 0x02
	PidAck      = 0x07
	PidDataLast = 0x08
)

// Instruction codes (R30x manual, "Instruction set").
const (
	CmdGenImg      = 0x01 // capture a finger image into the image buffer
	CmdImg2Tz      = 0x02 // extract features into a char buffer
	CmdMatch       = 0x03
	CmdSearch      = 0x04
	CmdUpImage     = 0x0A // upload the image buffer to the host
	CmdSetSysPara  = 0x0E // parameter number, value
	CmdReadSysPara = 0x0F
	CmdVfyPwd      = 0x13 // handshake: verify the 4-byte password
	CmdHandshake   = 0x40 // R50x "HandShake"; the R30x family answers it with an error code, so the driver handshakes with VfyPwd
)

// SetSysPara parameter numbers.
const (
	ParamBaud       = 4 // value N: baud = N × 9600
	ParamSecurity   = 5
	ParamPacketSize = 6 // value 0..3: 32, 64, 128, 256 bytes
)

// Ack confirmation codes (byte 0 of an ack payload).
const (
	AckOK           = 0x00
	AckRecvError    = 0x01
	AckNoFinger     = 0x02
	AckImageFailed  = 0x03
	AckMessy        = 0x06
	AckFewFeatures  = 0x07
	AckNoMatch      = 0x08
	AckNotFound     = 0x09
	AckUploadFailed = 0x0F
	AckBadPassword  = 0x13
	AckInvalidImage = 0x15
	AckBadRegister  = 0x1A // wrong register number (e.g. an unsupported SetSysPara parameter)
	AckBadCommand   = 0x1C // R50x: illegal instruction, as some R30x firmwares answer unknown codes
)

// AckError is a non-zero confirmation code from the module.
type AckError struct{ Code byte }

func (e *AckError) Error() string {
	msg, ok := ackText[e.Code]
	if !ok {
		msg = "unknown error"
	}
	return fmt.Sprintf("sensor: %s (code 0x%02X)", msg, e.Code)
}

var ackText = map[byte]string{
	AckRecvError:    "module reports a packet receive error",
	AckNoFinger:     "no finger on the sensor",
	AckImageFailed:  "failed to capture the finger image",
	AckMessy:        "image too messy to use",
	AckFewFeatures:  "too few features in the image",
	AckNoMatch:      "fingers do not match",
	AckNotFound:     "no matching finger found",
	AckUploadFailed: "module failed to upload the image",
	AckBadPassword:  "wrong module password",
	AckInvalidImage: "no valid image in the image buffer",
	AckBadRegister:  "wrong register number",
	AckBadCommand:   "illegal instruction",
}

// Errors of the packet layer.
var (
	ErrChecksum  = errors.New("sensor: packet checksum mismatch")
	ErrBadLength = errors.New("sensor: bad packet length")
)

const (
	headerLen     = 9 // EF 01 + address + pid + length
	maxPayloadLen = 256 + 16
	// DefaultAddress is the factory module address.
	DefaultAddress = 0xFFFFFFFF
)

// Packet is one protocol packet.
type Packet struct {
	Addr    uint32
	ID      byte
	Payload []byte
}

func checksum(id byte, length uint16, payload []byte) uint16 {
	s := uint16(id) + length>>8 + length&0xFF
	for _, b := range payload {
		s += uint16(b)
	}
	return s
}

// Encode serialises the packet.
func (p Packet) Encode() []byte {
	n := len(p.Payload) + 2
	b := make([]byte, headerLen+n)
	b[0], b[1] = 0xEF, 0x01
	binary.BigEndian.PutUint32(b[2:], p.Addr)
	b[6] = p.ID
	binary.BigEndian.PutUint16(b[7:], uint16(n))
	copy(b[9:], p.Payload)
	binary.BigEndian.PutUint16(b[9+len(p.Payload):], checksum(p.ID, uint16(n), p.Payload))
	return b
}

// Decode parses one packet at the start of b and returns it with the number of bytes it used. It
// returns io.ErrUnexpectedEOF when b holds only the beginning of a packet.
func Decode(b []byte) (Packet, int, error) {
	if len(b) < headerLen {
		return Packet{}, 0, io.ErrUnexpectedEOF
	}
	if b[0] != 0xEF || b[1] != 0x01 {
		return Packet{}, 0, errors.New("sensor: missing EF01 header")
	}
	n := int(binary.BigEndian.Uint16(b[7:]))
	if n < 2 || n > maxPayloadLen+2 {
		return Packet{}, 0, fmt.Errorf("%w: %d", ErrBadLength, n)
	}
	switch b[6] {
	case PidCommand, PidData, PidAck, PidDataLast:
	default:
		return Packet{}, 0, fmt.Errorf("sensor: unknown packet id 0x%02X", b[6])
	}
	if len(b) < headerLen+n {
		return Packet{}, 0, io.ErrUnexpectedEOF
	}
	payload := b[headerLen : headerLen+n-2]
	sum := binary.BigEndian.Uint16(b[headerLen+n-2:])
	p := Packet{Addr: binary.BigEndian.Uint32(b[2:]), ID: b[6], Payload: append([]byte(nil), payload...)}
	if sum != checksum(b[6], uint16(n), payload) {
		return p, headerLen + n, ErrChecksum
	}
	return p, headerLen + n, nil
}

// Reader reads packets from a byte stream, resynchronising on the EF01 header after noise or a
// damaged packet: bytes before a header are skipped and counted.
type Reader struct {
	r       *bufio.Reader
	Skipped int // bytes discarded while looking for a header
}

// NewReader wraps r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 4096)} }

// ReadPacket returns the next packet. A packet with a bad checksum is returned with ErrChecksum (its
// bytes are consumed, so the next call continues after it); a header with an impossible length is
// skipped by one byte and the search continues.
func (pr *Reader) ReadPacket() (Packet, error) {
	for {
		b, err := pr.r.ReadByte()
		if err != nil {
			return Packet{}, err
		}
		if b != 0xEF {
			pr.Skipped++
			continue
		}
		next, err := pr.r.Peek(headerLen - 1)
		if err != nil {
			return Packet{}, err
		}
		if next[0] != 0x01 {
			pr.Skipped++
			continue
		}
		hdr := append([]byte{0xEF}, next...)
		n := int(binary.BigEndian.Uint16(hdr[7:]))
		if _, _, err := Decode(append(hdr, make([]byte, max(n, 0))...)); err != nil && !errors.Is(err, ErrChecksum) {
			pr.Skipped++ // not a plausible header: keep scanning from the next byte
			continue
		}
		buf := make([]byte, headerLen+n)
		buf[0] = 0xEF
		if _, err := io.ReadFull(pr.r, buf[1:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Packet{}, err
		}
		p, _, err := Decode(buf)
		return p, err
	}
}
