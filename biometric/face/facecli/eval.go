package facecli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
)

// Sample is one labelled image.
type Sample struct {
	Identity string
	Path     string
}

// LoadLabelled lists a labelled folder: either one sub-folder per identity, or (the deepface
// layout) an identity_clusters.txt with lines "id: file file ...". Files that are not images
// are ignored.
func LoadLabelled(dir string) ([]Sample, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "identity_clusters.txt")); err == nil {
		return parseClusters(dir, string(b))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("labelled folder: %w", err)
	}
	var out []Sample
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("labelled folder: %w", err)
		}
		for _, f := range files {
			if isImage(f.Name()) {
				out = append(out, Sample{Identity: e.Name(), Path: filepath.Join(dir, e.Name(), f.Name())})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("labelled folder %s: no identity folders with images", dir)
	}
	return out, nil
}

func parseClusters(dir, text string) ([]Sample, error) {
	var out []Sample
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, files, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("identity_clusters.txt line %d: want \"id: file ...\"", n+1)
		}
		for _, f := range strings.Fields(files) {
			if filepath.Base(f) != f {
				return nil, fmt.Errorf("identity_clusters.txt line %d: %q is not a plain file name", n+1, f)
			}
			out = append(out, Sample{Identity: strings.TrimSpace(id), Path: filepath.Join(dir, f)})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("identity_clusters.txt: no identities")
	}
	return out, nil
}

func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".jp2", ".bmp", ".webp":
		return true
	}
	return false
}

// Described is a sample with its descriptor (nil when no face was found: a failure to acquire).
type Described struct {
	Sample
	Descriptor []float32
	Err        error
}

// DescribeAll describes every sample with the engine's pool, in parallel.
func DescribeAll(ctx context.Context, e *face.Engine, samples []Sample, workers int) ([]Described, error) {
	out := make([]Described, len(samples))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i].Sample = samples[i]
				b, err := os.ReadFile(samples[i].Path)
				if err == nil {
					var f face.Found
					f, err = e.DescribePhoto(ctx, b)
					out[i].Descriptor = f.Descriptor
				}
				out[i].Err = err
			}
		}()
	}
	for i := range samples {
		select {
		case jobs <- i:
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return nil, ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	return out, ctx.Err()
}

// PairScores builds all genuine pairs (same identity) and all impostor pairs (different
// identities) among the samples whose identity passes keep (nil keeps all). A pair with a
// failure to acquire on either side scores match.Failure.
func PairScores(ds []Described, keep func(id string) bool) match.Scores {
	var s match.Scores
	for i := range ds {
		if keep != nil && !keep(ds[i].Identity) {
			continue
		}
		for j := i + 1; j < len(ds); j++ {
			if keep != nil && !keep(ds[j].Identity) {
				continue
			}
			d := match.Failure
			if ds[i].Descriptor != nil && ds[j].Descriptor != nil {
				if v, err := embedding.Distance(ds[i].Descriptor, ds[j].Descriptor); err == nil {
					d = v
				}
			}
			if ds[i].Identity == ds[j].Identity {
				s.Genuine = append(s.Genuine, d)
			} else {
				s.Impostor = append(s.Impostor, d)
			}
		}
	}
	return s
}

// Slice is a named subset of identities reported separately.
type Slice struct {
	Name       string
	Identities map[string]bool
}

// EastSoutheastAsianLFW is the slice ../shared/testdata/README.md asks to report separately
// in faces/lfw.
var EastSoutheastAsianLFW = Slice{Name: "east_southeast_asian", Identities: map[string]bool{
	"Hu_Jintao": true, "Kim_Ryong-sung": true, "Mahathir_Mohamad": true, "Paradorn_Srichaphan": true, "Tang_Jiaxuan": true,
}}

// ParseSlices reads a slice file: one slice per line, "name: id id id"; # starts a comment.
func ParseSlices(text string) ([]Slice, error) {
	var out []Slice
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		name, ids, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || len(strings.Fields(ids)) == 0 {
			return nil, fmt.Errorf("slice file line %d: want \"name: identity ...\"", n)
		}
		s := Slice{Name: name, Identities: map[string]bool{}}
		for _, id := range strings.Fields(ids) {
			s.Identities[id] = true
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// identities returns the sorted identity names present in ds.
func identities(ds []Described) []string {
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.Identity] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
