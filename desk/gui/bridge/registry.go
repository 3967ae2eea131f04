package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"enrolldesk/desk/app"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/config"
	"enrolldesk/desk/provision"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/registry"
)

// embeddedRegistry is the project's registry service (sync/registry) run inside the bridge on
// loopback, with its data in the desk's data directory, for end-to-end runs of the sync panel.
// Its listener can be stopped and started again on the same address (an outage of the network
// or of HQ, as the desk sees it) through the test hooks.
type embeddedRegistry struct {
	cfg registry.Config

	mu   sync.Mutex
	svc  *registry.Service
	addr string // host:port, kept across restarts so the desk's enrollment URL stays valid
	id   *registry.Identity
}

func startRegistry(ctx context.Context, dir string) (*embeddedRegistry, error) {
	r := &embeddedRegistry{cfg: registry.Config{Dir: dir, Listen: "127.0.0.1:0", Log: slog.Default()}}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// start opens the listener (again).
func (r *embeddedRegistry) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc != nil {
		return nil
	}
	cfg := r.cfg
	if r.addr != "" {
		cfg.Listen = r.addr
	}
	svc, err := registry.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("embedded registry: %w", err)
	}
	r.svc, r.id = svc, svc.Identity
	r.addr = strings.TrimPrefix(svc.URL, "https://")
	return nil
}

// stop closes the listener and the store; the desk sees connection refused.
func (r *embeddedRegistry) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc == nil {
		return nil
	}
	err := r.svc.Close()
	r.svc = nil
	if err != nil {
		return fmt.Errorf("embedded registry: stop: %w", err)
	}
	return nil
}

func (r *embeddedRegistry) url() string { return "https://" + r.addr }

func (r *embeddedRegistry) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svc != nil
}

// head returns the highest contiguous sequence the registry stored for the desk.
func (r *embeddedRegistry) head(ctx context.Context, deskID string) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc == nil {
		return 0, errors.New("embedded registry is stopped")
	}
	h, err := r.svc.Store.Head(ctx, deskID)
	if err != nil {
		return 0, fmt.Errorf("registry head: %w", err)
	}
	return h.Seq, nil
}

// register enrolls the desk with the registry as `enrolldesk register` does at an office: the
// desk key (opened with the passphrase) proves itself with the registry's provisioning token and
// pinned CA, and the enrollment is written atomically to the data directory and handed to the
// running desk, whose uploader then starts at the next unlock.
func (r *embeddedRegistry) register(ctx context.Context, desk *app.Desk, dataDir, passphrase string) (string, error) {
	keys, err := provision.Unlock(ctx, desk.DB, passphrase)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	path := filepath.Join(dataDir, config.RegistryFile)
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("register: this desk is already registered (%s exists)", path)
	}
	r.mu.Lock()
	id := r.id
	r.mu.Unlock()
	enr, err := hqsync.Provision(ctx, r.url(), id.CAFingerprint(), id.ProvisioningToken(keys.ID), keys.ID, keys.SigningKey)
	if err != nil {
		return "", fmt.Errorf("register with the registry: %w", err)
	}
	b, err := enr.Marshal()
	if err != nil {
		return "", fmt.Errorf("register: encode enrollment: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if err := desk.UseRegistry(ctx, b); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if _, err := desk.Audit.Append(ctx, audit.Entry{Actor: "system", Action: "desk.register", Subject: keys.ID}); err != nil {
		return "", fmt.Errorf("register: audit: %w", err)
	}
	return keys.ID, nil
}

// testHooks serves /api/test/* for the end-to-end suite; the bridge mounts it only with
// -test-hooks, so an ordinary bridge answers 404 there.
//
//	POST /api/test/registry/register  {"passphrase": "..."}  enroll the desk with the embedded registry
//	POST /api/test/registry/stop                             take the registry's listener down
//	POST /api/test/registry/start                            bring it back on the same address
//	GET  /api/test/registry                                  {"running": bool, "url": ..., "head": n}
//	POST /api/test/card  {"face": "path/to.jpg"}             hand over another card (same citizen data, this face)
func testHooks(ctx context.Context, reg *embeddedRegistry, vc *servedCard, desk *app.Desk, dataDir string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/test/card", func(w http.ResponseWriter, r *http.Request) {
		if vc == nil {
			http.Error(w, "the bridge serves no virtual card (-vcard-face)", http.StatusConflict)
			return
		}
		var in struct {
			Face string `json:"face"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil || in.Face == "" {
			http.Error(w, "body: want {\"face\": path}", http.StatusBadRequest)
			return
		}
		if err := vc.insert(in.Face); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"face": in.Face})
	})
	need := func(w http.ResponseWriter) bool {
		if reg == nil {
			http.Error(w, "the bridge runs no embedded registry (-registry)", http.StatusConflict)
			return false
		}
		return true
	}
	mux.HandleFunc("POST /api/test/registry/register", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		var in struct {
			Passphrase string `json:"passphrase"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		id, err := reg.register(r.Context(), desk, dataDir, in.Passphrase)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]string{"desk": id, "url": reg.url()})
	})
	mux.HandleFunc("POST /api/test/registry/stop", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		if err := reg.stop(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]bool{"running": false})
	})
	mux.HandleFunc("POST /api/test/registry/start", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		// The service outlives this request: it runs under the bridge's context.
		if err := reg.start(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]bool{"running": true})
	})
	mux.HandleFunc("GET /api/test/registry", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		out := map[string]any{"running": reg.running(), "url": reg.url()}
		if deskID, err := provision.Load(r.Context(), desk.DB); err == nil {
			if h, err := reg.head(r.Context(), deskID.ID); err == nil {
				out["head"] = h
			}
		}
		writeJSON(w, out)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Warn("bridge: write test hook answer", "err", err)
	}
}
