//go:build unix

package vcard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// LockPath is the machine-wide lock that serialises users of vpcd's single card slot across
// processes (DESIGN.md: tests using the virtual card must not run in parallel across packages).
var LockPath = filepath.Join(os.TempDir(), "enrolldesk-vpcd.lock")

var vpcdLock struct {
	sync.Mutex
	refs int
	f    *os.File
}

// AcquireVPCD takes the machine-wide vpcd lock, waiting until ctx ends. It is re-entrant within a
// process (a test binary holds it for its whole run while its cards connect and disconnect).
// Take it before starting or reusing pcscd, and release it after stopping what you started.
func AcquireVPCD(ctx context.Context) (release func(), err error) {
	vpcdLock.Lock()
	defer vpcdLock.Unlock()
	if vpcdLock.refs == 0 {
		f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return nil, fmt.Errorf("vcard: vpcd lock: %w", err)
		}
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				f.Close()
				return nil, fmt.Errorf("vcard: vpcd lock: %w", err)
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, fmt.Errorf("vcard: another process is using vpcd (lock %s): %w", LockPath, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		vpcdLock.f = f
	}
	vpcdLock.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			vpcdLock.Lock()
			defer vpcdLock.Unlock()
			vpcdLock.refs--
			if vpcdLock.refs == 0 {
				_ = syscall.Flock(int(vpcdLock.f.Fd()), syscall.LOCK_UN)
				vpcdLock.f.Close()
				vpcdLock.f = nil
			}
		})
	}, nil
}
