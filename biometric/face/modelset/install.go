package modelset

import (
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DebianShapePredictor is where Debian's libdlib-data installs the 68-point shape predictor.
const DebianShapePredictor = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

// maxModelBytes bounds a decompressed model file (the largest, the 68-point predictor, is 95 MB),
// so a hostile or broken server cannot fill the disk.
const maxModelBytes = 256 << 20

// Assemble builds the workplace set in dir: the detector and the ResNet from shared (the
// ../shared/models folder) and Debian's 68-point predictor from debianShape under the 5-point
// name. Sources are sha256-checked before they are placed; files already correct are left alone,
// so Assemble is idempotent. Each file is hard-linked when possible, else copied, and always
// placed with an atomic rename.
func Assemble(shared, debianShape, dir string) (Verified, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Verified{}, fmt.Errorf("assemble models: %w", err)
	}
	sources := map[string]string{
		DetectorFile:    filepath.Join(shared, DetectorFile),
		ShapeFile:       debianShape,
		RecognitionFile: filepath.Join(shared, RecognitionFile),
	}
	for _, name := range FileNames {
		want, _ := Workplace.File(name)
		dst := filepath.Join(dir, name)
		if d, err := FileSHA256(dst); err == nil && want.accepts(d) {
			continue
		}
		src := sources[name]
		d, err := FileSHA256(src)
		if err != nil {
			return Verified{}, fmt.Errorf("assemble models: source for %s: %w", name, err)
		}
		if !want.accepts(d) {
			return Verified{}, fmt.Errorf("assemble models: source %s has sha256 %s, expected %s", src, d, want.SHA256[0])
		}
		if err := place(src, dst); err != nil {
			return Verified{}, fmt.Errorf("assemble models: %s: %w", name, err)
		}
	}
	v, err := Verify(dir)
	if err != nil {
		return Verified{}, err
	}
	if v.Set != Workplace.Name {
		return Verified{}, fmt.Errorf("assemble models: %s verified as %q, expected %q", dir, v.Set, Workplace.Name)
	}
	return v, nil
}

// place puts a copy (or hard link) of src at dst atomically.
func place(src, dst string) error {
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err == nil {
		return os.Rename(tmp, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// writeAtomic writes through fill into a temporary file beside dst, syncs it and renames it over
// dst; on any error the temporary file is removed and dst is untouched.
func writeAtomic(dst string, fill func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// ErrChecksum reports a downloaded file whose sha256 is not the known one.
var ErrChecksum = errors.New("sha256 mismatch")

// Download fetches set (Official in production) from base (OfficialBaseURL): each file as
// bzip2, decompressed while streaming, sha256-checked against the set, and written atomically.
// Files already present with a known digest are kept. A bad file never replaces a good one.
func Download(ctx context.Context, client *http.Client, base, dir string, set Set) (Verified, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Verified{}, fmt.Errorf("download models: %w", err)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	baseURL, err := url.Parse(base)
	if err != nil {
		return Verified{}, fmt.Errorf("download models: base URL: %w", err)
	}
	for _, f := range set.Files {
		if f.Download == "" {
			return Verified{}, fmt.Errorf("download models: %s of set %q is not downloadable", f.Name, set.Name)
		}
		dst := filepath.Join(dir, f.Name)
		if d, err := FileSHA256(dst); err == nil && f.accepts(d) {
			continue
		}
		u := baseURL.ResolveReference(&url.URL{Path: f.Download})
		if err := fetch(ctx, client, u.String(), f, dst); err != nil {
			return Verified{}, fmt.Errorf("download models: %s: %w", f.Name, err)
		}
	}
	return VerifyAgainst(dir, set)
}

func fetch(ctx context.Context, client *http.Client, u string, f File, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %s", u, resp.Status)
	}
	return writeAtomic(dst, func(w io.Writer) error {
		h := sha256.New()
		lr := &io.LimitedReader{R: bzip2.NewReader(resp.Body), N: maxModelBytes + 1}
		n, err := io.Copy(io.MultiWriter(w, h), lr)
		if err != nil {
			return fmt.Errorf("GET %s: decompress after %d bytes: %w", u, n, err)
		}
		if n > maxModelBytes {
			return fmt.Errorf("GET %s: larger than %d bytes", u, maxModelBytes)
		}
		got := hex.EncodeToString(h.Sum(nil))
		if !f.accepts(got) {
			return fmt.Errorf("%w: GET %s gave sha256 %s, expected %s", ErrChecksum, u, got, strings.Join(f.SHA256, " or "))
		}
		return nil
	})
}
