package app

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"enrolldesk/desk/officer"
	"enrolldesk/desk/seal"
)

// fastKDF keeps argon2id cheap in tests; production costs are seal.Default.
var fastKDF = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openDesk opens a real desk store in a temporary directory.
func openDesk(t *testing.T) (*Desk, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	policy := officer.DefaultPolicy
	policy.MaxAttempts = 3
	policy.LockFor = 10 * time.Minute
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Policy: policy, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(context.Background())
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d, clk
}

var supervisor = ProvisionRequest{
	Passphrase: "mật khẩu bàn số một", SupervisorID: "gs.lan", SupervisorName: "Nguyễn Thị Lan", SupervisorPIN: "246813",
}

// boundMethods lists "Struct.Method" for every method Wails would bind from opts.Bind: all
// exported methods of each bound pointer (wails v2 internal/binding walks reflect's method set).
func boundMethods(bind []any) []string {
	var out []string
	for _, v := range bind {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumMethod(); i++ {
			out = append(out, rt.Elem().Name()+"."+rt.Method(i).Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestBridgeMethodSetEqualsWailsBindings(t *testing.T) {
	d, _ := openDesk(t)
	opts := WailsOptions(d.App, fstest.MapFS{})
	b, err := NewBridge(d.App, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := boundMethods(opts.Bind)
	if len(want) == 0 {
		t.Fatal("Wails options bind no methods")
	}
	if got := b.Methods(); !reflect.DeepEqual(got, want) {
		t.Fatalf("bridge methods %v\nWails bindings %v", got, want)
	}
	// The bridge's own listing over HTTP says the same.
	srv := httptest.NewServer(b)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/methods")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed []string
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(listed, want) {
		t.Fatalf("/api/methods = %v, want %v", listed, want)
	}
	// Every bound struct is one of App's services and every method returns the envelope.
	for _, v := range opts.Bind {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumMethod(); i++ {
			if m := rt.Method(i).Type; m.NumOut() != 1 || m.Out(0) != reflect.TypeOf(Response{}) {
				t.Errorf("%s.%s does not return exactly one Response", rt.Elem().Name(), rt.Method(i).Name)
			}
		}
	}
}

// callBridge posts a call to the bridge and decodes the envelope.
func callBridge(t *testing.T, base, method string, args ...any) Response {
	t.Helper()
	body, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/api/"+method, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d", method, resp.StatusCode)
	}
	var r Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func stateOf(t *testing.T, r Response) SessionState {
	t.Helper()
	if !r.OK {
		t.Fatalf("call failed: %+v", r.Error)
	}
	js, _ := json.Marshal(r.Data)
	var st SessionState
	if err := json.Unmarshal(js, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func wantFault(t *testing.T, r Response, code string) *Fault {
	t.Helper()
	if r.OK || r.Error == nil || r.Error.Code != code {
		t.Fatalf("want fault %q, got %+v (error %+v)", code, r, r.Error)
	}
	return r.Error
}

func TestLoginFlowThroughBridge(t *testing.T) {
	d, clk := openDesk(t)
	b, err := NewBridge(d.App, fstest.MapFS{"index.html": {Data: []byte("<h1>desk</h1>")}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	defer srv.Close()

	st := stateOf(t, callBridge(t, srv.URL, "Session/State"))
	if st.Provisioned || st.Officer != nil || st.Language != LangVI {
		t.Fatalf("fresh desk state %+v, want unprovisioned, nobody logged in, vi", st)
	}
	wantFault(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "246813"), CodeNotProvisioned)

	weak := supervisor
	weak.SupervisorPIN = "12ab"
	if f := wantFault(t, callBridge(t, srv.URL, "Session/Provision", weak), CodeInvalid); f.Params["field"] != "pin" {
		t.Fatalf("weak PIN fault names field %q", f.Params["field"])
	}
	st = stateOf(t, callBridge(t, srv.URL, "Session/Provision", supervisor))
	if !st.Provisioned || st.DeskID == "" {
		t.Fatalf("after provisioning: %+v", st)
	}
	wantFault(t, callBridge(t, srv.URL, "Session/Provision", supervisor), CodeProvisioned)

	// Wrong PINs: refused, then the third locks the account (policy: 3 tries; an unknown id counts
	// for nobody) and even the right PIN is refused until the lock ends.
	wantFault(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "111111"), CodeWrongPIN)
	wantFault(t, callBridge(t, srv.URL, "Session/Login", "nobody", "246813"), CodeWrongPIN)
	wantFault(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "222222"), CodeWrongPIN)
	f := wantFault(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "333333"), CodeLocked)
	until, err := time.Parse(time.RFC3339, f.Params["until"])
	if err != nil || !until.After(clk.now()) {
		t.Fatalf("locked until %q (%v), want a time after now", f.Params["until"], err)
	}
	wantFault(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "246813"), CodeLocked)

	clk.add(11 * time.Minute)
	st = stateOf(t, callBridge(t, srv.URL, "Session/Login", "gs.lan", "246813"))
	if st.Officer == nil || st.Officer.ID != "gs.lan" || st.Officer.Role != RoleSupervisor || st.Officer.Name != supervisor.SupervisorName {
		t.Fatalf("logged-in officer %+v", st.Officer)
	}

	// Language: refused when unknown, remembered in the store when known.
	wantFault(t, callBridge(t, srv.URL, "Session/SetLanguage", "fr"), CodeInvalid)
	if st = stateOf(t, callBridge(t, srv.URL, "Session/SetLanguage", "en")); st.Language != LangEN {
		t.Fatalf("language %q after switching to en", st.Language)
	}
	if st = stateOf(t, callBridge(t, srv.URL, "Session/Logout")); st.Officer != nil {
		t.Fatalf("still logged in after logout: %+v", st.Officer)
	}

	// Static files come from the frontend FS; unknown methods and wrong verbs are refused.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/Session/Nope", "[]"},
		{http.MethodPost, "/api/Desk/Close", "[]"},
		{http.MethodGet, "/api/Session/State", ""},
		{http.MethodPost, "/api/Session/Login", `["only-one"]`},
		{http.MethodPost, "/api/Session/Login", `{"not":"an array"}`},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s %s answered 200", c.method, c.path, c.body)
		}
	}
}

func TestLanguageSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(context.Background(), dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(context.Background())
	if r := d.Session.SetLanguage(LangEN); !r.OK {
		t.Fatal(r.Error)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(context.Background(), dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	if st := stateOf(t, d.Session.State()); st.Language != LangEN {
		t.Fatalf("language after restart %q, want en", st.Language)
	}
}

func TestEventsReachBridgeClients(t *testing.T) {
	d, _ := openDesk(t)
	b, err := NewBridge(d.App, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": connected" {
		t.Fatalf("event stream did not open: %q %v", sc.Text(), sc.Err())
	}
	callBridge(t, srv.URL, "Session/SetLanguage", "en")
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	if event != EventSession || !strings.Contains(data, `"language":"en"`) {
		t.Fatalf("event %q data %q, want %s with language en", event, data, EventSession)
	}
}

func TestUnauthorizedUntilLogin(t *testing.T) {
	d, _ := openDesk(t)
	if _, err := d.Session.current(); err == nil {
		t.Fatal("an officer is logged in on a fresh desk")
	}
	if r := d.Session.Provision(supervisor); !r.OK {
		t.Fatal(r.Error)
	}
	if r := d.Session.Login("gs.lan", "246813"); !r.OK {
		t.Fatal(r.Error)
	}
	if o, err := d.Session.current(); err != nil || o.ID != "gs.lan" {
		t.Fatalf("current officer %+v, %v", o, err)
	}
}
