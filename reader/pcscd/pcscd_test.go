package pcscd

import (
	"context"
	"os"
	"testing"
	"time"

	"enrolldesk/reader/vcard"
)

const vpcdReader = "Virtual PCD" // vpcd's FRIENDLYNAME in /etc/reader.conf.d/vpcd

func lockVPCD(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		t.Fatalf("vsmartcard-vpcd is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	release, err := vcard.AcquireVPCD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
}

// The next holder of the vpcd lock looks while the previous holder's pcscd is still shutting
// down: Ensure must end up with a pcscd that lists the reader.
func TestEnsureAfterAPcscdThatIsShuttingDown(t *testing.T) {
	lockVPCD(t)
	if Alive() {
		t.Fatal("a pcscd outside the vpcd lock answers: stop it (this test plays the lock's previous holder)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 3 {
		old, err := start()
		if err != nil {
			t.Fatal(err)
		}
		for !Alive() {
			if old.exited() {
				t.Fatalf("round %d: pcscd exited at start", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The previous holder's pcscd: interrupted, not waited for.
		_ = old.cmd.Process.Signal(os.Interrupt)
		stop, err := Ensure(ctx, vpcdReader)
		if err != nil {
			t.Fatalf("round %d: Ensure right after a pcscd was stopped: %v", round, err)
		}
		select {
		case <-old.done:
		case <-time.After(10 * time.Second):
			t.Logf("round %d: the interrupted pcscd did not exit within 10 s; killed", round)
			_ = old.cmd.Process.Kill()
			<-old.done
		}
		stop()
		// It may have found the old one just before it went: the next look must still succeed.
		stop, err = Ensure(ctx, vpcdReader)
		if err != nil {
			t.Fatalf("round %d: Ensure after the old pcscd exited: %v", round, err)
		}
		stop()
		if Alive() {
			t.Fatalf("round %d: a pcscd still answers after stop", round)
		}
	}
}

func TestEnsureGivesUpWithTheContext(t *testing.T) {
	lockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Ensure(ctx, "No Such Reader 0")
	if err == nil {
		t.Fatal("a reader nobody provides was found")
	}
	if ctx.Err() == nil {
		t.Fatalf("gave up before the context ended: %v", err)
	}
}
