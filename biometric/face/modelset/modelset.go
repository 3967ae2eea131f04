// Package modelset knows the dlib model files that go-face loads: which sets of files are known
// (by sha256), how to assemble the workplace set from ../shared/models and Debian, how to download
// the official set from dlib.net, and how to verify a model directory before face capture starts.
//
// It is pure Go (no cgo) so that setup tools and tests run with CGO_ENABLED=0.
package modelset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The three file names go-face's NewRecognizer(dir) loads (github.com/Kagami/go-face facerec.cc).
const (
	DetectorFile    = "mmod_human_face_detector.dat"
	ShapeFile       = "shape_predictor_5_face_landmarks.dat"
	RecognitionFile = "dlib_face_recognition_resnet_model_v1.dat"
)

// FileNames lists the files of a model directory in a fixed order.
var FileNames = []string{DetectorFile, ShapeFile, RecognitionFile}

// File is one model file of a set: its name in the model directory and the sha256 values that are
// accepted for it (more than one where the upstream file was republished with different bytes).
type File struct {
	Name   string
	SHA256 []string
	// Download is the file name under the download base URL (bzip2-compressed), empty when the
	// file is not downloadable.
	Download string
}

// Set is a known combination of model files.
type Set struct {
	Name string
	// Landmarks is the number of points the shape predictor returns (5 or 68).
	Landmarks int
	Files     []File
	Note      string
}

// OfficialBaseURL is where dlib's author publishes the model files (public domain / CC0).
const OfficialBaseURL = "http://dlib.net/files/"

// Workplace is the set that build/setup assembles on machines without internet
// (../shared/models/README.md): the shared de-quantised ResNet, the official MMOD detector and
// Debian's 68-point shape predictor (libdlib-data) under the 5-point file name.
var Workplace = Set{
	Name:      "workplace",
	Landmarks: 68,
	Files: []File{
		{Name: DetectorFile, SHA256: []string{"4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"}},
		{Name: ShapeFile, SHA256: []string{"fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"}},
		{Name: RecognitionFile, SHA256: []string{"cdb1d47b961fe310ef1f3aa2974c5f65d29c079346760f6b6785c7e405f7266a"}},
	},
	Note: "68-point landmarks from Debian libdlib-data (iBUG 300-W: non-commercial licence); ResNet de-quantised from @vladmandic/face-api 1.7.15",
}

// Official is dlib.net's set (dlib-models by Davis King, public domain).
//
// The sha256 values are of the decompressed .dat files. They were not computed here (this machine
// cannot reach dlib.net); they come from independent public projects that pin them:
//   - mmod_human_face_detector.dat: 4cb19393… (dlib.net/files download, also ../shared/models) and
//     be467b1a… (davisking/dlib-models on GitHub at fd81b63, which republished the file);
//   - shape_predictor_5_face_landmarks.dat: c4b1e980… (pinned by several projects);
//   - dlib_face_recognition_resnet_model_v1.dat: 55533b28… (pinned by two projects).
//
// A deployment that downloads a file whose digest is not listed gets a clear error and must have
// the new digest reviewed before it is added here.
var Official = Set{
	Name:      "official",
	Landmarks: 5,
	Files: []File{
		{Name: DetectorFile, Download: DetectorFile + ".bz2", SHA256: []string{
			"4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
			"be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a",
		}},
		{Name: ShapeFile, Download: ShapeFile + ".bz2", SHA256: []string{"c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"}},
		{Name: RecognitionFile, Download: RecognitionFile + ".bz2", SHA256: []string{"55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"}},
	},
	Note: "official dlib-models files (public domain)",
}

// Known lists every model set the desk accepts.
var Known = []Set{Workplace, Official}

// File returns the set's entry for name.
func (s Set) File(name string) (File, bool) {
	for _, f := range s.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

func (f File) accepts(digest string) bool {
	for _, d := range f.SHA256 {
		if d == digest {
			return true
		}
	}
	return false
}

// Verified describes a model directory that matched a known set.
type Verified struct {
	Dir       string
	Set       string
	Landmarks int
	// Digests maps each file name to its sha256 (hex).
	Digests map[string]string
	// ID identifies the exact model files: the sha256 over "name digest\n" lines of the three
	// files in FileNames order. Calibrations are stored per ID.
	ID string
}

// ErrModels is the class of every model-directory error, so callers can tell the officer
// "face capture is unavailable: <reason>".
var ErrModels = errors.New("face models unusable")

// ID computes the model-set identifier from per-file digests.
func ID(digests map[string]string) string {
	h := sha256.New()
	for _, n := range FileNames {
		fmt.Fprintf(h, "%s %s\n", n, digests[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verify checks that dir holds the three files of one known set and returns which. The error
// names the missing or wrong file and what was expected, and wraps ErrModels.
func Verify(dir string) (Verified, error) {
	return VerifyAgainst(dir, Known...)
}

// VerifyAgainst is Verify with an explicit list of acceptable sets.
func VerifyAgainst(dir string, sets ...Set) (Verified, error) {
	digests := make(map[string]string, len(FileNames))
	var missing []string
	for _, n := range FileNames {
		d, err := FileSHA256(filepath.Join(dir, n))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				missing = append(missing, n)
				continue
			}
			return Verified{}, fmt.Errorf("%w: read %s: %v", ErrModels, filepath.Join(dir, n), err)
		}
		digests[n] = d
	}
	if len(missing) > 0 {
		return Verified{}, fmt.Errorf("%w: %s missing in %s (run `make setup`, or `make models` with internet)",
			ErrModels, strings.Join(missing, ", "), dir)
	}
	// The set whose files match best names the wrong file precisely.
	bestSet, bestOK := -1, -1
	var bestWrong []string
	for i, s := range sets {
		ok := 0
		var wrong []string
		for _, n := range FileNames {
			f, _ := s.File(n)
			if f.accepts(digests[n]) {
				ok++
			} else {
				wrong = append(wrong, n)
			}
		}
		if ok == len(FileNames) {
			return Verified{Dir: dir, Set: s.Name, Landmarks: s.Landmarks, Digests: digests, ID: ID(digests)}, nil
		}
		if ok > bestOK {
			bestSet, bestOK, bestWrong = i, ok, wrong
		}
	}
	if bestSet < 0 {
		return Verified{}, fmt.Errorf("%w: no model set to verify %s against", ErrModels, dir)
	}
	s := sets[bestSet]
	var parts []string
	for _, n := range bestWrong {
		f, _ := s.File(n)
		parts = append(parts, fmt.Sprintf("%s has sha256 %s, the %q set expects %s", n, digests[n], s.Name, strings.Join(f.SHA256, " or ")))
	}
	sort.Strings(parts)
	return Verified{}, fmt.Errorf("%w: %s: %s", ErrModels, dir, strings.Join(parts, "; "))
}
