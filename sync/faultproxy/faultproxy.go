// Package faultproxy is a TCP proxy for fault tests on loopback: per connection it forwards
// faithfully or injects one fault (drop, reset mid-request, reset mid-response, delay, truncated
// response, duplicate delivery of the request), chosen by a seeded random source so runs repeat.
package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Fault is what the proxy does to one connection.
type Fault int

// Faults.
const (
	None          Fault = iota // forward both ways
	Drop                       // close the client connection at once
	ResetRequest               // forward part of the request, then reset both sides
	ResetResponse              // forward the request, part of the response, then reset
	Delay                      // forward with a delay before every response chunk
	Truncate                   // forward part of the response, then close cleanly (FIN)
	Duplicate                  // forward, and deliver the request bytes a second time on a new upstream connection
	numFaults
)

func (f Fault) String() string {
	return [...]string{"none", "drop", "reset-request", "reset-response", "delay", "truncate", "duplicate"}[f]
}

// Proxy listens on loopback and forwards to Target.
type Proxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	rng    *rand.Rand
	// Weights of each fault, indexed by Fault; None's weight is the chance of a clean connection.
	weights [numFaults]int
	stats   [numFaults]int
	wg      sync.WaitGroup
	closed  chan struct{}
}

// New starts a proxy on 127.0.0.1 in front of target (host:port). weights maps faults to their
// relative frequency; faults not named do not happen.
func New(target string, seed uint64, weights map[Fault]int) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	p := &Proxy{target: target, ln: ln, rng: rand.New(rand.NewPCG(seed, 0x5eed)), closed: make(chan struct{})}
	total := 0
	for f, w := range weights {
		if f < 0 || f >= numFaults || w < 0 {
			ln.Close()
			return nil, fmt.Errorf("fault proxy: bad weight %v=%d", f, w)
		}
		p.weights[f] = w
		total += w
	}
	if total == 0 {
		ln.Close()
		return nil, errors.New("fault proxy: all weights zero")
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stats returns how many connections got each fault.
func (p *Proxy) Stats() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[Fault]int{}
	for f, n := range p.stats {
		if n > 0 {
			out[Fault(f)] = n
		}
	}
	return out
}

// Close stops the proxy and waits for its connections to end.
func (p *Proxy) Close() error {
	close(p.closed)
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) pick() (Fault, int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for _, w := range p.weights {
		total += w
	}
	n := p.rng.IntN(total)
	f := None
	for i, w := range p.weights {
		if n < w {
			f = Fault(i)
			break
		}
		n -= w
	}
	p.stats[f]++
	cut := 1 + p.rng.IntN(64<<10) // requests (batches) are larger than this
	if f == ResetResponse || f == Truncate {
		cut = p.rng.IntN(256) // receipts are a few hundred bytes: cut inside the headers or the body
	}
	return f, cut, time.Duration(20+p.rng.IntN(150)) * time.Millisecond
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		f, cut, delay := p.pick()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c.(*net.TCPConn), f, cut, delay)
		}()
	}
}

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort: makes Close send RST
	}
	c.Close()
}

func (p *Proxy) handle(client *net.TCPConn, f Fault, cut int, delay time.Duration) {
	defer client.Close()
	if f == Drop {
		reset(client)
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	// Bound every connection in time so that tests end.
	deadline := time.Now().Add(20 * time.Second)
	client.SetDeadline(deadline) //nolint:errcheck
	up.SetDeadline(deadline)     //nolint:errcheck

	var captured bytes.Buffer
	reqDone := make(chan struct{})
	go func() {
		defer close(reqDone)
		var src io.Reader = client
		switch f {
		case ResetRequest:
			src = io.LimitReader(client, int64(cut))
		case Duplicate:
			src = io.TeeReader(client, &captured)
		}
		io.Copy(up, src) //nolint:errcheck // the other side reports
		if f == ResetRequest {
			reset(up)
			reset(client)
			return
		}
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite() //nolint:errcheck
		}
	}()
	switch f {
	case ResetResponse, Truncate:
		io.CopyN(client, up, int64(cut)) //nolint:errcheck
		if f == ResetResponse {
			reset(client)
		} else {
			client.CloseWrite() //nolint:errcheck
		}
		reset(up)
	case Delay:
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				select {
				case <-time.After(delay):
				case <-p.closed:
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
		client.CloseWrite() //nolint:errcheck
	default:
		io.Copy(client, up) //nolint:errcheck
		client.CloseWrite() //nolint:errcheck
	}
	<-reqDone
	if f == Duplicate && captured.Len() > 0 {
		p.replay(captured.Bytes())
	}
}

// replay delivers request bytes again on a fresh upstream connection and discards the answer.
func (p *Proxy) replay(b []byte) {
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	up.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
	if _, err := up.Write(b); err != nil {
		return
	}
	if tc, ok := up.(*net.TCPConn); ok {
		tc.CloseWrite() //nolint:errcheck
	}
	io.Copy(io.Discard, up) //nolint:errcheck
}
