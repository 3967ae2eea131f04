package app

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// maxCallBody bounds one bridged call's arguments (the largest is an application form).
const maxCallBody = 1 << 20

// Bridge serves the bound structs over HTTP for the browser end-to-end suite and for frontend
// development in a plain browser:
//
//	POST /api/{Struct}/{Method}  body: JSON array of arguments  →  the method's Response as JSON
//	GET  /api/events             Server-Sent Events: "event: name" + "data: json" per Emit
//	GET  /api/methods            the bridged method names, "Struct.Method", sorted
//	GET  /*                      the built frontend (static)
//
// Methods are found by reflection over App.Bound(), by the rule Wails uses for its bindings
// (every exported method of each bound pointer), so the two method sets cannot drift apart.
type Bridge struct {
	app     *App
	methods map[string]reflect.Value // "Struct.Method" → bound method value
	static  http.Handler
}

// NewBridge builds the bridge over a's bound structs; static (may be nil) is the built frontend.
func NewBridge(a *App, static fs.FS) (*Bridge, error) {
	b := &Bridge{app: a, methods: map[string]reflect.Value{}}
	for _, v := range a.Bound() {
		rv := reflect.ValueOf(v)
		rt := rv.Type()
		if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("bridge: bound value %s is not a pointer to a struct", rt)
		}
		name := rt.Elem().Name()
		for i := 0; i < rt.NumMethod(); i++ {
			m := rt.Method(i)
			mt := m.Type
			if mt.NumOut() != 1 || mt.Out(0) != reflect.TypeOf(Response{}) {
				return nil, fmt.Errorf("bridge: %s.%s must return exactly one Response", name, m.Name)
			}
			b.methods[name+"."+m.Name] = rv.Method(i)
		}
	}
	if static != nil {
		b.static = http.FileServer(http.FS(static))
	}
	return b, nil
}

// Methods returns the bridged method names, "Struct.Method", sorted.
func (b *Bridge) Methods() []string {
	out := make([]string, 0, len(b.methods))
	for k := range b.methods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP routes API calls, the event stream and static files.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/events":
		b.serveEvents(w, r)
	case r.URL.Path == "/api/methods":
		writeJSON(w, http.StatusOK, b.Methods())
	case strings.HasPrefix(r.URL.Path, "/api/"):
		b.serveCall(w, r)
	case b.static != nil:
		b.static.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (b *Bridge) serveCall(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	name := strings.Replace(strings.TrimPrefix(r.URL.Path, "/api/"), "/", ".", 1)
	m, found := b.methods[name]
	if !found {
		http.Error(w, "no such method", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallBody))
	if err != nil {
		http.Error(w, "read arguments: "+err.Error(), http.StatusBadRequest)
		return
	}
	args, err := decodeArgs(m.Type(), body)
	if err != nil {
		http.Error(w, fmt.Sprintf("%s: %v", name, err), http.StatusBadRequest)
		return
	}
	out := m.Call(args)
	writeJSON(w, http.StatusOK, out[0].Interface())
}

// decodeArgs decodes a JSON array into the method's parameters, as Wails does for a bound call.
func decodeArgs(mt reflect.Type, body []byte) ([]reflect.Value, error) {
	var raw []json.RawMessage
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fmt.Errorf("arguments must be a JSON array: %w", err)
		}
	}
	if len(raw) != mt.NumIn() {
		return nil, fmt.Errorf("want %d arguments, got %d", mt.NumIn(), len(raw))
	}
	args := make([]reflect.Value, len(raw))
	for i, r := range raw {
		p := reflect.New(mt.In(i))
		if err := json.Unmarshal(r, p.Interface()); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		args[i] = p.Elem()
	}
	return args, nil
}

func (b *Bridge) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, canFlush := w.(http.Flusher)
	if !canFlush {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	ch := make(chan []byte, 64)
	var closed sync.Once
	done := make(chan struct{})
	detach := b.app.Events.Attach(EmitterFunc(func(name string, data any) {
		js, err := json.Marshal(data)
		if err != nil {
			slog.Error("bridge: encode event", "event", name, "err", err)
			return
		}
		msg := []byte("event: " + name + "\ndata: " + string(js) + "\n\n")
		select {
		case ch <- msg:
		case <-done:
		default:
			slog.Warn("bridge: event client too slow, event dropped", "event", name)
		}
	}))
	defer func() {
		detach()
		closed.Do(func() { close(done) })
	}()
	if _, err := io.WriteString(w, ": connected\n\n"); err != nil {
		return
	}
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg := <-ch:
			if _, err := w.Write(msg); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Warn("bridge: write response", "err", err)
	}
}
