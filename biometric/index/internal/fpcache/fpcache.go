// Package fpcache keeps finger templates extracted from generated images (finger/synth →
// finger.Extract) in a local cache file, because generating an image and extracting it costs
// ~0.3–0.7 s: a 100,000-identity gallery is generated once (in the background, resumably) and
// reused by the benchmarks. The cache lives under the user cache directory and is never committed.
//
// File format: a sequence of records, each
//
//	finger u32 BE | impression u8 | length u16 BE | finger.Template compact form (length bytes)
//
// appended as they are made; a torn last record (a killed generator) is dropped on load.
package fpcache

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/finger/synth"
)

// Seed is the synth population the cache holds.
const Seed = 0x1d1d

// Rec is one cached template.
type Rec struct {
	Finger     int
	Impression int
	Template   *finger.Template
}

// DefaultPath is the cache file in the user cache directory (ENROLLDESK_INDEX_CACHE overrides).
func DefaultPath() (string, error) {
	if p := os.Getenv("ENROLLDESK_INDEX_CACHE"); p != "" {
		return p, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finger template cache: %w", err)
	}
	return filepath.Join(d, "enrolldesk", "index", fmt.Sprintf("finger-templates-%x.bin", Seed)), nil
}

// Parse decodes a cache file's bytes. A torn final record is ignored; anything else malformed is
// an error.
func Parse(b []byte) ([]Rec, error) { return ParseSome(b, nil) }

// ParseSome is Parse keeping only the records for which keep (when not nil) returns true; the
// others are skipped undecoded (decoding prepares the template for matching, ~2 ms each).
func ParseSome(b []byte, keep func(finger, impression int) bool) ([]Rec, error) {
	var out []Rec
	for len(b) > 0 {
		if len(b) < 7 {
			return out, nil // torn header
		}
		n := int(binary.BigEndian.Uint16(b[5:]))
		if len(b) < 7+n {
			return out, nil // torn body
		}
		f, imp := int(binary.BigEndian.Uint32(b)), int(b[4])
		if keep != nil && !keep(f, imp) {
			b = b[7+n:]
			continue
		}
		var t finger.Template
		if err := t.UnmarshalBinary(b[7 : 7+n]); err != nil {
			return nil, fmt.Errorf("finger template cache: record %d/%d: %w", f, imp, err)
		}
		out = append(out, Rec{Finger: f, Impression: imp, Template: &t})
		b = b[7+n:]
	}
	return out, nil
}

// Load reads the cache file; a missing file is an empty cache.
func Load(path string) ([]Rec, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finger template cache: %w", err)
	}
	return Parse(b)
}

// Encode is one record's bytes.
func Encode(r Rec) ([]byte, error) {
	raw, err := r.Template.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(raw) > 0xffff || r.Impression < 0 || r.Impression > 255 || r.Finger < 0 {
		return nil, fmt.Errorf("finger template cache: record %d/%d does not fit", r.Finger, r.Impression)
	}
	b := make([]byte, 7, 7+len(raw))
	binary.BigEndian.PutUint32(b, uint32(r.Finger))
	b[4] = byte(r.Impression)
	binary.BigEndian.PutUint16(b[5:], uint16(len(raw)))
	return append(b, raw...), nil
}

// Ensure makes sure the cache holds impressions 1..impressions of fingers [0, fingers), generating
// what is missing on all cores (appending as it goes, so an interrupted run resumes), and returns
// those records, ordered by finger then impression.
func Ensure(ctx context.Context, path string, fingers, impressions int) ([]Rec, error) {
	have, err := Load(path)
	if err != nil {
		return nil, err
	}
	type key struct{ f, i int }
	got := map[key]*finger.Template{}
	for _, r := range have {
		got[key{r.Finger, r.Impression}] = r.Template
	}
	var todo []key
	for f := 0; f < fingers; f++ {
		for i := 1; i <= impressions; i++ {
			if got[key{f, i}] == nil {
				todo = append(todo, key{f, i})
			}
		}
	}
	if len(todo) > 0 {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("finger template cache: %w", err)
		}
		// A torn tail from an interrupted run is rewritten away first.
		if err := rewrite(path, have); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("finger template cache: %w", err)
		}
		w := bufio.NewWriter(f)
		var mu sync.Mutex
		var werr error
		jobs := make(chan key)
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range jobs {
					t, err := finger.Extract(synth.Generate(Seed, k.f, k.i))
					if err != nil {
						t = &finger.Template{Width: synth.Width, Height: synth.Height, DPI: 500} // unusable image: no minutiae
					}
					b, err := Encode(Rec{Finger: k.f, Impression: k.i, Template: t})
					mu.Lock()
					if err == nil {
						_, err = w.Write(b)
					}
					if err != nil && werr == nil {
						werr = err
					}
					got[k] = t
					mu.Unlock()
				}
			}()
		}
	feed:
		for _, k := range todo {
			select {
			case jobs <- k:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		wg.Wait()
		if err := w.Flush(); err != nil && werr == nil {
			werr = err
		}
		if err := f.Close(); err != nil && werr == nil {
			werr = err
		}
		if werr != nil {
			return nil, fmt.Errorf("finger template cache: %w", werr)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("finger template cache: %w", err)
		}
	}
	out := make([]Rec, 0, fingers*impressions)
	for f := 0; f < fingers; f++ {
		for i := 1; i <= impressions; i++ {
			out = append(out, Rec{Finger: f, Impression: i, Template: got[key{f, i}]})
		}
	}
	return out, nil
}

func rewrite(path string, recs []Rec) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("finger template cache: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, r := range recs {
		b, err := Encode(r)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("finger template cache: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("finger template cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("finger template cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("finger template cache: %w", err)
	}
	return nil
}
