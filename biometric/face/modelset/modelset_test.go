package modelset

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// sharedModels is ../shared/models seen from the repository root (this package is 3 levels down).
func sharedModels(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecognitionFile)); err != nil {
		t.Fatalf("shared models missing (CI must have ../shared beside the clone): %v", err)
	}
	return dir
}

func TestAssembleWorkplaceSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	v, err := Assemble(sharedModels(t), DebianShapePredictor, dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Set != "workplace" || v.Landmarks != 68 || len(v.ID) != 64 {
		t.Fatalf("verified %+v", v)
	}
	// Idempotent: a second run keeps the same files (same inode) and the same id.
	st1, _ := os.Stat(filepath.Join(dir, ShapeFile))
	v2, err := Assemble(sharedModels(t), DebianShapePredictor, dir)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(dir, ShapeFile))
	if v2.ID != v.ID || !os.SameFile(st1, st2) {
		t.Fatal("second assemble changed the directory")
	}

	// A wrong file is named with both digests. Remove first: the file may be a hard link to
	// the read-only shared original, which must never be written through.
	p := filepath.Join(dir, RecognitionFile)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(dir)
	if !errors.Is(err, ErrModels) || !strings.Contains(err.Error(), RecognitionFile) ||
		!strings.Contains(err.Error(), Workplace.Files[2].SHA256[0]) {
		t.Fatalf("tampered file: %v", err)
	}
	// Assemble repairs it.
	if _, err := Assemble(sharedModels(t), DebianShapePredictor, dir); err != nil {
		t.Fatal(err)
	}
	// A missing file is named.
	if err := os.Remove(filepath.Join(dir, DetectorFile)); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(dir)
	if !errors.Is(err, ErrModels) || !strings.Contains(err.Error(), DetectorFile+" missing") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAssembleRefusesWrongSource(t *testing.T) {
	shared := t.TempDir()
	for _, n := range []string{DetectorFile, RecognitionFile} {
		if err := os.WriteFile(filepath.Join(shared, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "m")
	_, err := Assemble(shared, DebianShapePredictor, dir)
	if err == nil || !strings.Contains(err.Error(), "expected") {
		t.Fatalf("wrong source accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DetectorFile)); !os.IsNotExist(err) {
		t.Fatal("wrong source placed")
	}
}

// testSet is a model set of small fixture files so download can be tested without dlib.net.
var testSet = Set{Name: "test", Landmarks: 5, Files: []File{
	{Name: DetectorFile, Download: "a.dat.bz2", SHA256: []string{"5bc81dbc42fe0b86fd1c103f37dfa3de5bd7e8a1767fd1bd4a2471aa8be7a06e"}},
	{Name: ShapeFile, Download: "b.dat.bz2", SHA256: []string{"7ba39e50b99d5862f6ae110769a0009d0e25c64197421557f83ad1facc59be80"}},
	{Name: RecognitionFile, Download: "c.dat.bz2", SHA256: []string{"e6872eeaba63ca42d9374df639afead16d5a2b736776e792d1bdaef93d62a04a"}},
}}

type server struct {
	hits   atomic.Int32
	handle func(w http.ResponseWriter, name string, body []byte)
}

func newServer(t *testing.T, s *server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		name := strings.TrimPrefix(r.URL.Path, "/files/")
		body, err := os.ReadFile(filepath.Join("testdata", filepath.Base(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if s.handle != nil {
			s.handle(w, name, body)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".part-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestDownloadGood(t *testing.T) {
	s := &server{}
	ts := newServer(t, s)
	dir := t.TempDir()
	v, err := Download(context.Background(), ts.Client(), ts.URL+"/files", dir, testSet)
	if err != nil {
		t.Fatal(err)
	}
	if v.Set != "test" || s.hits.Load() != 3 {
		t.Fatalf("verified %+v after %d requests", v, s.hits.Load())
	}
	// Idempotent: nothing fetched again.
	if _, err := Download(context.Background(), ts.Client(), ts.URL+"/files/", dir, testSet); err != nil {
		t.Fatal(err)
	}
	if s.hits.Load() != 3 {
		t.Fatalf("re-downloaded: %d requests", s.hits.Load())
	}
}

func TestDownloadFailures(t *testing.T) {
	wrong, err := os.ReadFile("testdata/wrong.dat.bz2")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		handle func(w http.ResponseWriter, name string, body []byte)
		want   string
	}{
		{"wrong checksum", func(w http.ResponseWriter, name string, body []byte) {
			if name == "b.dat.bz2" {
				body = wrong
			}
			w.Write(body)
		}, "sha256 mismatch"},
		{"truncated", func(w http.ResponseWriter, name string, body []byte) {
			if name == "b.dat.bz2" {
				body = body[:len(body)/2]
			}
			w.Write(body)
		}, "unexpected EOF"},
		{"not bzip2", func(w http.ResponseWriter, name string, body []byte) {
			if name == "b.dat.bz2" {
				body = []byte("<html>captive portal</html>")
			}
			w.Write(body)
		}, "decompress"},
		{"http error", func(w http.ResponseWriter, name string, body []byte) {
			if name == "b.dat.bz2" {
				http.Error(w, "gone", http.StatusServiceUnavailable)
				return
			}
			w.Write(body)
		}, "503"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newServer(t, &server{handle: c.handle})
			dir := t.TempDir()
			// A good shape file already there must survive a bad download attempt of another.
			_, err := Download(context.Background(), ts.Client(), ts.URL+"/files", dir, testSet)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), ShapeFile) {
				t.Fatalf("err = %v, want it to contain %q and name %s", err, c.want, ShapeFile)
			}
			if c.want == "sha256 mismatch" && !errors.Is(err, ErrChecksum) {
				t.Fatalf("not ErrChecksum: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, ShapeFile)); !os.IsNotExist(err) {
				t.Fatalf("bad file placed: %v", err)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Fatalf("temporary files left: %v", l)
			}
		})
	}
}

func TestDownloadKeepsGoodFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	good := newServer(t, &server{})
	if _, err := Download(context.Background(), good.Client(), good.URL+"/files", dir, testSet); err != nil {
		t.Fatal(err)
	}
	// Damage one file; the server now serves a wrong one: the damaged file is not replaced by
	// the wrong one, and the others are untouched.
	p := filepath.Join(dir, RecognitionFile)
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := newServer(t, &server{handle: func(w http.ResponseWriter, name string, body []byte) {
		w.Write(body[:10])
	}})
	if _, err := Download(context.Background(), bad.Client(), bad.URL+"/files", dir, testSet); err == nil {
		t.Fatal("bad download accepted")
	}
	if b, _ := os.ReadFile(p); string(b) != "damaged" {
		t.Fatal("file replaced by a bad download")
	}
	if _, err := VerifyAgainst(filepath.Dir(p), testSet); err == nil || !strings.Contains(err.Error(), RecognitionFile) {
		t.Fatalf("verify: %v", err)
	}
}

func TestDownloadCancelled(t *testing.T) {
	ts := newServer(t, &server{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Download(ctx, ts.Client(), ts.URL+"/files", t.TempDir(), testSet); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestOfficialSetIsDownloadable(t *testing.T) {
	for _, f := range Official.Files {
		if f.Download == "" || len(f.SHA256) == 0 {
			t.Fatalf("%s: no download name or digest", f.Name)
		}
	}
	if Workplace.Landmarks != 68 || Official.Landmarks != 5 {
		t.Fatal("landmark counts")
	}
}
