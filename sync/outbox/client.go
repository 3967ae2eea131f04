package outbox

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"enrolldesk/sync/protocol"
)

// Client speaks protocol version 1 to the registry.
type Client struct {
	// BaseURL is the registry's address, e.g. https://registry.example:8443.
	BaseURL string
	// HTTP is the client to use: for production one from the provisioning bundle (mutual TLS,
	// HTTP/2). nil means http.DefaultClient.
	HTTP *http.Client
	// DeskID is this desk; receipts must name it.
	DeskID string
	// RegistryKey verifies receipts.
	RegistryKey ed25519.PublicKey
	// BytesPerSecond caps upload bandwidth (0: no cap), so sync does not starve a ward office's
	// shared uplink.
	BytesPerSecond int
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Receipt is a verified receipt and its signed bytes.
type Receipt struct {
	*protocol.Receipt
	Raw []byte
}

// Head asks the registry for the desk's stored chain head; knownLog is the size of the last log
// checkpoint the desk verified, so that the receipt carries a consistency proof from it.
func (c *Client) Head(ctx context.Context, knownLog uint64) (*Receipt, error) {
	u := strings.TrimSuffix(c.BaseURL, "/") + "/v1/desks/" + url.PathEscape(c.DeskID) + "/head?known=" + strconv.FormatUint(knownLog, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("registry head: %w", err)
	}
	return c.do(req, "registry head")
}

// Send uploads one batch and returns the verified receipt, or a *protocol.Refusal.
func (c *Client) Send(ctx context.Context, bt *protocol.Batch) (*Receipt, error) {
	body, err := protocol.EncMode.Marshal(bt)
	if err != nil {
		return nil, fmt.Errorf("send batch: encode: %w", err)
	}
	var r io.Reader = bytes.NewReader(body)
	if c.BytesPerSecond > 0 {
		r = &throttled{ctx: ctx, r: r, rate: c.BytesPerSecond, start: time.Now()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+protocol.PathBatches, r)
	if err != nil {
		return nil, fmt.Errorf("send batch: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Content-Type", protocol.MediaType)
	return c.do(req, "send batch")
}

func (c *Client) do(req *http.Request, what string) (*Receipt, error) {
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxReceiptBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		ref, derr := protocol.DecodeRefusal(b)
		if derr != nil {
			return nil, fmt.Errorf("%s: HTTP %d without a refusal body", what, resp.StatusCode)
		}
		return nil, ref
	}
	rc, err := protocol.VerifyReceipt(b, c.RegistryKey, c.DeskID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &Receipt{Receipt: rc, Raw: b}, nil
}

// throttled paces reads to rate bytes per second.
type throttled struct {
	ctx   context.Context
	r     io.Reader
	rate  int
	start time.Time
	n     int
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > 16<<10 {
		p = p[:16<<10]
	}
	due := t.start.Add(time.Duration(float64(t.n) / float64(t.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-t.ctx.Done():
			timer.Stop()
			return 0, t.ctx.Err()
		case <-timer.C:
		}
	}
	n, err := t.r.Read(p)
	t.n += n
	return n, err
}

// IsRefusal reports whether err is a registry refusal and returns it.
func IsRefusal(err error) (*protocol.Refusal, bool) {
	var ref *protocol.Refusal
	ok := errors.As(err, &ref)
	return ref, ok
}

// Bundles fetches the signed down-sync bundles of kind newer than since (the serial the desk
// holds), verified and in serial order. The desk applies them in order and remembers the last
// serial; an answer that skips back or repeats is refused.
func (c *Client) Bundles(ctx context.Context, kind string, since uint64) ([]*protocol.Bundle, error) {
	u := strings.TrimSuffix(c.BaseURL, "/") + "/v1/bundles/" + url.PathEscape(kind) + "?since=" + strconv.FormatUint(since, 10) +
		"&desk=" + url.QueryEscape(c.DeskID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("bundles %s: %w", kind, err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("bundles %s: %w", kind, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxBatchBytes))
	if err != nil {
		return nil, fmt.Errorf("bundles %s: %w", kind, err)
	}
	if resp.StatusCode != http.StatusOK {
		if ref, derr := protocol.DecodeRefusal(b); derr == nil {
			return nil, ref
		}
		return nil, fmt.Errorf("bundles %s: HTTP %d", kind, resp.StatusCode)
	}
	var raw [][]byte
	if err := protocol.DecMode.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("bundles %s: %w", kind, err)
	}
	out := make([]*protocol.Bundle, 0, len(raw))
	have := since
	for _, r := range raw {
		bd, err := protocol.VerifyBundle(r, c.RegistryKey, kind, c.DeskID, have)
		if err != nil {
			return nil, fmt.Errorf("bundles %s: %w", kind, err)
		}
		have = bd.Serial
		out = append(out, bd)
	}
	return out, nil
}
