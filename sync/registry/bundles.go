package registry

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"enrolldesk/sync/protocol"
)

// Bundles keeps signed down-sync bundles as files: DIR/KIND/SERIAL[-DESK].cose, written
// atomically (temporary file, fsync, rename).
type Bundles struct {
	Dir string
	Key ed25519.PrivateKey
	mu  sync.Mutex
}

type bundleFile struct {
	serial uint64
	desk   string
	path   string
}

func (b *Bundles) list(kind string) ([]bundleFile, error) {
	entries, err := os.ReadDir(filepath.Join(b.Dir, kind))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bundles %s: %w", kind, err)
	}
	var out []bundleFile
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".cose")
		if !ok {
			continue
		}
		num, desk, _ := strings.Cut(name, "-")
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, bundleFile{serial: n, desk: desk, path: filepath.Join(b.Dir, kind, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].serial < out[j].serial })
	return out, nil
}

// Publish signs content as the next bundle of kind (for one desk, or all when desk is "").
func (b *Bundles) Publish(kind, desk string, content []byte) (uint64, error) {
	if !protocol.KnownBundle(kind) {
		return 0, fmt.Errorf("publish bundle: unknown kind %q", kind)
	}
	if strings.ContainsAny(desk, "/\\.") {
		return 0, fmt.Errorf("publish bundle: bad desk id %q", desk)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	files, err := b.list(kind)
	if err != nil {
		return 0, err
	}
	serial := uint64(1)
	if len(files) > 0 {
		serial = files[len(files)-1].serial + 1
	}
	signed, err := protocol.SignBundle(&protocol.Bundle{Version: protocol.Version, Kind: kind, Serial: serial, Desk: desk,
		Time: time.Now().UnixMilli(), Content: content}, b.Key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(b.Dir, kind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	name := fmt.Sprintf("%020d", serial)
	if desk != "" {
		name += "-" + desk
	}
	final := filepath.Join(dir, name+".cose")
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(signed); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return 0, fmt.Errorf("publish bundle: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() //nolint:errcheck // best effort: make the rename durable
		d.Close()
	}
	return serial, nil
}

// For returns the signed bundles of kind newer than since that apply to desk, oldest first.
func (b *Bundles) For(kind, desk string, since uint64) ([][]byte, error) {
	files, err := b.list(kind)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, f := range files {
		if f.serial <= since || (f.desk != "" && f.desk != desk) {
			continue
		}
		body, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("bundles %s: %w", kind, err)
		}
		out = append(out, body)
		if len(out) == protocol.MaxBundlesPerAnswer {
			break
		}
	}
	return out, nil
}

func (s *Server) handleBundles(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	desk := clientDesk(r)
	if s.RequireClientCert && desk == "" {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "no desk certificate"}, "")
		return
	}
	if !protocol.KnownBundle(kind) {
		s.refuse(w, r, http.StatusNotFound, &protocol.Refusal{Reason: protocol.ReasonBadRequest, Detail: "unknown bundle kind"}, desk)
		return
	}
	if desk == "" {
		desk = r.URL.Query().Get("desk") // plain-HTTP tests only; with mutual TLS the certificate decides
	}
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	list, err := s.Bundles.For(kind, desk, since)
	if err != nil {
		s.log().Error("bundles", "kind", kind, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, desk)
		return
	}
	if list == nil {
		list = [][]byte{}
	}
	b, err := protocol.EncMode.Marshal(list)
	if err != nil {
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, desk)
		return
	}
	w.Header().Set("Content-Type", protocol.MediaType)
	w.Write(b) //nolint:errcheck // the client may be gone
}
