// Package synctest holds fixtures shared by the sync tests: realistic record content and
// biometric blobs made from the project's shared test data (../shared/testdata beside the
// repository), seeded so that runs repeat.
package synctest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"enrolldesk/sync/record"
)

// RepoRoot returns the repository root: the nearest directory above the working directory that
// holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	portraitsOnce sync.Once
	portraits     [][]byte
	portraitsErr  error
)

// Portraits returns real JPEG portraits (LFW, 250×250, about 10–20 KB each: the size of a chip
// or desk portrait) from ../shared/testdata/faces/lfw. It fails when the data is missing.
func Portraits() ([][]byte, error) {
	portraitsOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			portraitsErr = err
			return
		}
		files, err := filepath.Glob(filepath.Join(root, "..", "shared", "testdata", "faces", "lfw", "*", "*.jpg"))
		if err != nil || len(files) < 20 {
			portraitsErr = fmt.Errorf("portraits: want ≥ 20 LFW JPEGs under ../shared/testdata/faces/lfw, found %d (%v)", len(files), err)
			return
		}
		sort.Strings(files)
		for _, f := range files[:64] {
			b, err := os.ReadFile(f)
			if err != nil {
				portraitsErr = fmt.Errorf("portraits: %w", err)
				return
			}
			portraits = append(portraits, b)
		}
	})
	return portraits, portraitsErr
}

// Content returns plausible record content for enrollment n of a desk.
func Content(n int) record.Content {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	citizen := fmt.Sprintf("0%02d%03d%06d", rng.IntN(96)+1, rng.IntN(400), rng.IntN(1000000))
	dg1 := make([]byte, 93) // TD1 DG1: tag 61, 5F1F and a 90-character MRZ
	copy(dg1, []byte{0x61, 0x5B, 0x5F, 0x1F, 0x5A})
	for i := 5; i < len(dg1); i++ {
		dg1[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"[rng.IntN(37)]
	}
	dg13 := make([]byte, 600+rng.IntN(200))
	for i := range dg13 {
		dg13[i] = byte(rng.UintN(256))
	}
	sod := make([]byte, 1800)
	for i := range sod {
		sod[i] = byte(rng.UintN(256))
	}
	return record.Content{
		OfficerID: fmt.Sprintf("officer-%d", n%3+1),
		CitizenID: citizen,
		DG1:       dg1, DG13: dg13, SOD: sod,
		Form: record.Form{
			Mobile: fmt.Sprintf("09%08d", rng.IntN(100000000)),
			Email:  fmt.Sprintf("citizen%d@example.vn", n),
		},
		Chip:    record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass, DSCertID: "3f2a9c"},
		Face:    record.FaceResult{Score: 0.31 + rng.Float64()/10, Threshold: 0.6, Decision: record.Pass, Liveness: record.Pass},
		Fingers: []record.FingerResult{{Position: 2, Quality: 80, Score: 61.5, Decision: record.Pass}, {Position: 7, Quality: 74, Score: 55, Decision: record.Pass}},
		Dedup:   record.Dedup{Decision: "unique", GallerySize: n},
		Consent: record.Consent{Given: true, Version: "vi-2024-1", At: 1_760_000_000_000 + int64(n)},
	}
}

// Blobs returns the biometric blobs of enrollment n: a real JPEG portrait and two ISO/IEC
// 19794-2-sized finger templates (random bytes of a typical 40-minutiae template length).
func Blobs(n int) ([]record.Blob, error) {
	ps, err := Portraits()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(n), 11))
	out := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: ps[n%len(ps)]}}
	for _, pos := range []int{2, 7} {
		t := make([]byte, 28+40*6+2)
		for i := range t {
			t[i] = byte(rng.UintN(256))
		}
		out = append(out, record.Blob{Kind: record.KindFingerTemplate, Format: "iso19794-2", Position: pos, Data: t})
	}
	return out, nil
}
