package pcsctest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader/pcsc"
	"enrolldesk/reader/vcard"
)

// TestWaitCardHonoursContext: with the reader empty, WaitCard returns when its context ends (PC/SC
// status calls are bounded so cancellation is noticed), then sees a card being inserted and removed.
func TestWaitCardHonoursContext(t *testing.T) {
	c, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	names, err := c.Readers()
	if err != nil || len(names) == 0 || !strings.Contains(strings.Join(names, ","), readerName) {
		t.Fatalf("readers %v: %v", names, err)
	}
	name, _ := c.FindReader(readerName)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	err = c.WaitCard(ctx, name)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("WaitCard on an empty reader: %v after %v", err, time.Since(start))
	}
	if _, err := c.FindReader("no such reader"); err == nil {
		t.Fatal("found a reader that does not exist")
	}
	pki, citizen, _ := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := insertCard(t, card, false) // waits for the card itself
	in.close()                       // waits for the removal
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.WaitRemoved(ctx, name); err != nil {
		t.Fatalf("reader not empty after removal: %v", err)
	}
}
