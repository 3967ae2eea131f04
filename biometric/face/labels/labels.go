// Package labels reads labelled face folders and population slice files for evaluations. Pure Go.
package labels

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sample is one labelled image.
type Sample struct {
	Identity string
	Path     string
}

// Load lists a labelled folder: either one sub-folder per identity, or (the deepface
// layout) an identity_clusters.txt with lines "id: file file ...". Files that are not images
// are ignored.
func Load(dir string) ([]Sample, error) {
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
			if f == "." || f == ".." || strings.ContainsAny(f, `/\`) {
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
