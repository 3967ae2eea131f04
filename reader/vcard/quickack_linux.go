//go:build linux

package vcard

import (
	"net"
	"syscall"
)

// quickAck re-arms TCP_QUICKACK (tcp(7)): vpcd writes a frame's length and payload in two
// send() calls, so with Nagle on its side and delayed ACKs on ours every exchange would stall for
// the 40 ms delayed-ACK timer. Linux clears the flag after use, so it is set before every read.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
