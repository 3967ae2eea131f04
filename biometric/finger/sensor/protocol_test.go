package sensor

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// A VfyPwd command with the default password, byte for byte as the R30x manual lists it.
var vfyPwd = []byte{0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x07, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1B}

func TestEncodeKnownPacket(t *testing.T) {
	got := Packet{Addr: DefaultAddress, ID: PidCommand, Payload: []byte{CmdVfyPwd, 0, 0, 0, 0}}.Encode()
	if !bytes.Equal(got, vfyPwd) {
		t.Fatalf("got % X\nwant % X", got, vfyPwd)
	}
	p, n, err := Decode(got)
	if err != nil || n != len(got) || p.ID != PidCommand || !bytes.Equal(p.Payload, []byte{0x13, 0, 0, 0, 0}) {
		t.Fatalf("decode: %+v %d %v", p, n, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	bad := append([]byte(nil), vfyPwd...)
	bad[len(bad)-1] ^= 1
	if _, _, err := Decode(bad); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad checksum: %v", err)
	}
	if _, _, err := Decode(vfyPwd[:10]); err != io.ErrUnexpectedEOF {
		t.Fatalf("short: %v", err)
	}
	long := append([]byte(nil), vfyPwd...)
	long[7], long[8] = 0xFF, 0xFF
	if _, _, err := Decode(long); !errors.Is(err, ErrBadLength) {
		t.Fatalf("length: %v", err)
	}
}

func TestReaderResync(t *testing.T) {
	ack := Packet{Addr: DefaultAddress, ID: PidAck, Payload: []byte{AckOK}}.Encode()
	bad := append([]byte(nil), ack...)
	bad[len(bad)-2] ^= 0x40
	var stream []byte
	stream = append(stream, 0x00, 0xEF, 0x02, 0xEF, 0x01, 0xFF) // noise, including a false header start
	stream = append(stream, bad...)
	stream = append(stream, 0x55, 0xAA)
	stream = append(stream, ack...)
	r := NewReader(bytes.NewReader(stream))
	if _, err := r.ReadPacket(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("first packet: %v, want checksum error", err)
	}
	p, err := r.ReadPacket()
	if err != nil || p.ID != PidAck || len(p.Payload) != 1 {
		t.Fatalf("second packet: %+v %v", p, err)
	}
	if r.Skipped == 0 {
		t.Fatal("noise not counted")
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(vfyPwd)
	f.Add(Packet{Addr: 1, ID: PidDataLast, Payload: bytes.Repeat([]byte{0x5A}, 128)}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := Decode(b)
		if err == nil {
			if n > len(b) || !bytes.Equal(p.Encode(), b[:n]) {
				t.Fatalf("decode/encode mismatch")
			}
		}
		r := NewReader(bytes.NewReader(b))
		for range 100 {
			if _, err := r.ReadPacket(); err != nil && !errors.Is(err, ErrChecksum) {
				break
			}
		}
	})
}
