package facenet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"path"
	"strings"
)

// LandmarkSet is the face pipeline's landmarks of the subject of every photo of an evaluation
// (written by `facenet-eval -landmarks`). Detection and landmarks need cgo (go-face); with them
// stored, the facenet engine's part of a calibration (alignment, network, distances) can be
// recomputed from the shared photos by a cgo-free test.
type LandmarkSet struct {
	About  string           `json:"about"`
	Photos []PhotoLandmarks `json:"photos"`
}

// PhotoLandmarks is one photo: its path relative to the shared test-data root and the subject's
// landmarks (68 in the iBUG 300-W layout or dlib's 5); none means no face was found (a failure
// to acquire, ISO/IEC 19795-1).
type PhotoLandmarks struct {
	File      string        `json:"file"`
	Landmarks []image.Point `json:"-"`
}

type photoJSON struct {
	File      string   `json:"file"`
	Landmarks [][2]int `json:"landmarks"`
}

// maxCoord bounds a landmark coordinate: no shared photo is larger than a few thousand pixels.
const maxCoord = 1 << 16

// MarshalJSON writes the points as [x, y] pairs.
func (p PhotoLandmarks) MarshalJSON() ([]byte, error) {
	j := photoJSON{File: p.File, Landmarks: [][2]int{}}
	for _, q := range p.Landmarks {
		j.Landmarks = append(j.Landmarks, [2]int{q.X, q.Y})
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads [x, y] pairs.
func (p *PhotoLandmarks) UnmarshalJSON(b []byte) error {
	var j photoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	p.File, p.Landmarks = j.File, nil
	for _, q := range j.Landmarks {
		p.Landmarks = append(p.Landmarks, image.Pt(q[0], q[1]))
	}
	return nil
}

// Marshal writes the set as JSON, one photo per line (diffable).
func (s LandmarkSet) Marshal() ([]byte, error) {
	var b bytes.Buffer
	about, err := json.Marshal(s.About)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "{\"about\": %s,\n\"photos\": [\n", about)
	for i, p := range s.Photos {
		line, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(s.Photos)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}

// ParseLandmarkSet reads a landmark set, refusing paths that leave the test-data root, duplicate
// photos, point counts other than 0, 5 or 68 and coordinates outside ±65536.
func ParseLandmarkSet(b []byte) (LandmarkSet, error) {
	var s LandmarkSet
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return LandmarkSet{}, fmt.Errorf("landmark set: %w", err)
	}
	seen := map[string]bool{}
	for i, p := range s.Photos {
		f := p.File
		switch {
		case f == "" || path.IsAbs(f) || strings.Contains(f, "\\") || path.Clean(f) != f || f == ".." || strings.HasPrefix(f, "../"):
			return LandmarkSet{}, fmt.Errorf("landmark set: photo %d: %q is not a clean relative path", i, f)
		case seen[f]:
			return LandmarkSet{}, fmt.Errorf("landmark set: photo %q twice", f)
		case len(p.Landmarks) != 0 && len(p.Landmarks) != 5 && len(p.Landmarks) != 68:
			return LandmarkSet{}, fmt.Errorf("landmark set: %s: %d points, want 0, 5 or 68", f, len(p.Landmarks))
		}
		seen[f] = true
		for _, q := range p.Landmarks {
			if q.X < -maxCoord || q.X > maxCoord || q.Y < -maxCoord || q.Y > maxCoord {
				return LandmarkSet{}, fmt.Errorf("landmark set: %s: point %v out of range", f, q)
			}
		}
	}
	if len(s.Photos) == 0 {
		return LandmarkSet{}, errors.New("landmark set: no photos")
	}
	return s, nil
}

// Lookup returns the landmarks of a photo (relative path) and whether the photo is in the set.
func (s LandmarkSet) Lookup(file string) ([]image.Point, bool) {
	for _, p := range s.Photos {
		if p.File == file {
			return p.Landmarks, true
		}
	}
	return nil, false
}
