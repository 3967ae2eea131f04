// Package pcscd makes sure Debian's pcscd is answering with a given reader listed, starting it
// when none runs. The test peers (reader/pcsctest, the desk's card tests, the GUI's bridge and
// demo) share the machine's pcscd and vpcd one after another under reader/vcard's vpcd lock; the
// previous holder's pcscd may still be shutting down when the next one looks, so a pcscd that
// exits at once is started again until the reader appears or ctx ends.
package pcscd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"enrolldesk/reader/pcsc"
)

// Socket is where pcscd listens (Debian's default).
const Socket = "/run/pcscd/pcscd.comm"

// Alive reports whether a pcscd answers on its socket (a killed pcscd may leave the file).
func Alive() bool {
	c, err := net.DialTimeout("unix", Socket, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// Ensure returns once a pcscd answers and lists readerName. When it had to start pcscd, stop
// ends that process (and waits for it); otherwise stop does nothing. vsmartcard-vpcd must be
// installed when readerName is vpcd's.
//
// An interrupted pcscd keeps answering for about two seconds before it exits; Ensure can only
// outlast one that goes away while it waits. Holders of the vpcd lock therefore stop their pcscd
// with stop, which waits for the exit, before they release the lock.
func Ensure(ctx context.Context, readerName string) (stop func(), err error) {
	var ours *daemon
	stop = func() {
		if ours != nil {
			ours.stop()
		}
	}
	var last error
	for {
		if ours != nil && ours.exited() {
			ours = nil
		}
		if ours == nil && !Alive() {
			d, err := start()
			if err != nil {
				return nil, err
			}
			ours = d
			// Give it a moment to take the socket, or to exit because an old one still holds it.
			select {
			case <-ours.done:
				ours = nil
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		err := listed(readerName)
		if err == nil {
			return stop, nil
		}
		last = err
		select {
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("pcscd with reader %q: %w", readerName, errors.Join(ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func listed(readerName string) error {
	c, err := pcsc.Establish()
	if err != nil {
		return err
	}
	defer c.Release()
	_, err = c.FindReader(readerName)
	return err
}

type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func start() (*daemon, error) {
	cmd := exec.Command("pcscd", "--foreground")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pcscd: %w", err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop interrupts pcscd and waits until it has exited and its socket no longer answers, so the
// next holder of the vpcd lock starts from a quiet machine.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	for i := 0; i < 100 && Alive(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}
