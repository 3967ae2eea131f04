package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/desk/app"
	"enrolldesk/desk/config"
	"enrolldesk/desk/seal"
)

// The test hooks drive the real registry service: the desk registers with it (the enrollment
// file is written and taken by the running desk), its listener goes down and comes back on the
// same address, and the registry answers again afterwards.
func TestRegistryTestHooks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	reg, err := startRegistry(ctx, filepath.Join(dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.stop()
	desk, err := app.Open(ctx, dir, app.Options{KDF: seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}, Registry: reg.id.Seal.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	desk.Start(ctx)
	const pass = "mật khẩu bàn thử nghiệm"
	if r := desk.Session.Provision(app.ProvisionRequest{Passphrase: pass, SupervisorID: "gs.test", SupervisorName: "Giám sát", SupervisorPIN: "246813"}); !r.OK {
		t.Fatalf("provision: %+v", r.Error)
	}
	h := testHooks(ctx, reg, nil, desk, dir)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w
	}
	state := func() map[string]any {
		t.Helper()
		w := do(http.MethodGet, "/api/test/registry", "")
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("state %d %s: %v", w.Code, w.Body, err)
		}
		return out
	}

	if w := do(http.MethodPost, "/api/test/registry/register", `{"passphrase":"sai"}`); w.Code != http.StatusConflict {
		t.Fatalf("register with a wrong passphrase: %d %s", w.Code, w.Body)
	}
	if w := do(http.MethodPost, "/api/test/registry/register", `{"passphrase":"`+pass+`"}`); w.Code != http.StatusOK {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	if _, err := os.Stat(filepath.Join(dir, config.RegistryFile)); err != nil {
		t.Fatalf("enrollment file: %v", err)
	}
	if w := do(http.MethodPost, "/api/test/registry/register", `{"passphrase":"`+pass+`"}`); w.Code != http.StatusConflict {
		t.Fatalf("second registration: %d %s", w.Code, w.Body)
	}
	if st := state(); st["running"] != true || st["head"] != float64(0) {
		t.Fatalf("state after registration: %v", st)
	}
	url := reg.url()
	if w := do(http.MethodPost, "/api/test/registry/stop", ""); w.Code != http.StatusOK {
		t.Fatalf("stop: %d %s", w.Code, w.Body)
	}
	if st := state(); st["running"] != false {
		t.Fatalf("state after stop: %v", st)
	}
	if _, err := http.Get(strings.Replace(url, "https://", "http://", 1)); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("the stopped registry still answers: %v", err)
	}
	if w := do(http.MethodPost, "/api/test/registry/start", ""); w.Code != http.StatusOK {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	if st := state(); st["running"] != true || st["url"] != url || st["head"] != float64(0) {
		t.Fatalf("state after restart: %v (url before %s)", st, url)
	}
	// No virtual card in this bridge: the card hook says so.
	if w := do(http.MethodPost, "/api/test/card", `{"face":"x.jpg"}`); w.Code != http.StatusConflict {
		t.Fatalf("card hook without a card: %d %s", w.Code, w.Body)
	}
}
