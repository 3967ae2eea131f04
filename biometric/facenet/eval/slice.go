// Package eval measures face-embedding engines per population slice: a slice file names the
// identities of one slice of a labelled face set; the report gives, per engine and slice, FMR,
// FNMR, the EER and the threshold at FMR 0.1 % (ISO/IEC 19795-1 rates over all genuine and all
// impostor pairs), and names each engine's worst slice. Pure Go: detection and embedding are done
// by the caller (cmd/facenet-eval).
package eval

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Slice is a named set of identities of one dataset (a folder of identity folders).
type Slice struct {
	Name    string
	Dataset string   // relative to the shared test-data root, e.g. "faces/lfw"
	IDs     []string // identity folder names; nil with All
	All     bool     // every identity of the dataset
}

// ParseSlice reads a slice file:
//
//	# comment
//	name: lfw-east-southeast-asian
//	dataset: faces/lfw
//	Hu_Jintao
//	Kim_Ryong-sung
//
// One identity per line; a line "*" takes every identity of the dataset.
func ParseSlice(b []byte) (Slice, error) {
	var s Slice
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k, v, ok := strings.Cut(t, ":"); ok && (k == "name" || k == "dataset") {
			v = strings.TrimSpace(v)
			if v == "" {
				return Slice{}, fmt.Errorf("slice line %d: empty %s", line, k)
			}
			if k == "name" {
				s.Name = v
			} else {
				if filepath.IsAbs(v) || strings.Contains(v, "..") {
					return Slice{}, fmt.Errorf("slice line %d: dataset must be a relative path inside the test data", line)
				}
				s.Dataset = filepath.ToSlash(filepath.Clean(v))
			}
			continue
		}
		if t == "*" {
			s.All = true
			continue
		}
		if strings.ContainsAny(t, `/\:`) || t == "." || t == ".." {
			return Slice{}, fmt.Errorf("slice line %d: %q is not an identity folder name", line, t)
		}
		if seen[t] {
			return Slice{}, fmt.Errorf("slice line %d: identity %q twice", line, t)
		}
		seen[t] = true
		s.IDs = append(s.IDs, t)
	}
	if err := sc.Err(); err != nil {
		return Slice{}, fmt.Errorf("slice: %w", err)
	}
	switch {
	case s.Name == "" || s.Dataset == "":
		return Slice{}, errors.New("slice: needs name: and dataset: lines")
	case s.All && len(s.IDs) > 0:
		return Slice{}, errors.New("slice: '*' and identity names together")
	case !s.All && len(s.IDs) < 2:
		return Slice{}, errors.New("slice: needs at least two identities (impostor pairs)")
	}
	return s, nil
}

// LoadSlices reads every *.txt slice file of dir, sorted by file name.
func LoadSlices(dir string) ([]Slice, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("slices: %w", err)
	}
	sort.Strings(files)
	var out []Slice
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("slices: %w", err)
		}
		s, err := ParseSlice(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("slices: no *.txt in %s", dir)
	}
	return out, nil
}

// Image is one labelled photo.
type Image struct {
	ID   string // identity
	Path string
}

// ListDataset returns the images of a dataset folder (one sub-folder per identity; *.jpg, *.jpeg,
// *.png inside), sorted.
func ListDataset(root string) ([]Image, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var out []Image
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f.Name()))
			if f.IsDir() || (ext != ".jpg" && ext != ".jpeg" && ext != ".png") {
				continue
			}
			out = append(out, Image{ID: e.Name(), Path: filepath.Join(root, e.Name(), f.Name())})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset: no images under %s", root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Select returns the images of the slice's identities; every named identity must exist.
func (s Slice) Select(all []Image) ([]Image, error) {
	if s.All {
		return all, nil
	}
	want := map[string]bool{}
	for _, id := range s.IDs {
		want[id] = true
	}
	found := map[string]bool{}
	var out []Image
	for _, im := range all {
		if want[im.ID] {
			out = append(out, im)
			found[im.ID] = true
		}
	}
	for _, id := range s.IDs {
		if !found[id] {
			return nil, fmt.Errorf("slice %s: identity %q has no images in %s", s.Name, id, s.Dataset)
		}
	}
	return out, nil
}
