package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"
)

// Config configures a registry service.
type Config struct {
	// Dir holds the identity file and, unless Store is set, the SQLite database.
	Dir string
	// Listen is the TCP address, e.g. "127.0.0.1:8443" (":0" style picks a port).
	Listen string
	// Hosts are the names and addresses in the server certificate (default 127.0.0.1, localhost).
	Hosts []string
	// Store overrides the default SQLite store (e.g. a PostgreSQL one).
	Store Store
	// DeskCertValidity is the lifetime of issued desk certificates (0: DefaultDeskCertValidity).
	DeskCertValidity time.Duration
	Log              *slog.Logger
}

// Service is a running registry: HTTPS with mutual TLS and HTTP/2.
type Service struct {
	URL      string
	Identity *Identity
	Store    Store
	Bundles  *Bundles
	srv      *http.Server
	done     chan error
	ownStore bool

	closeOnce sync.Once
	closeErr  error
}

// Start opens the identity and the store and serves until Close.
func Start(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("registry: Dir is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{"127.0.0.1", "localhost"}
	}
	id, err := LoadOrCreateIdentity(cfg.Dir)
	if err != nil {
		return nil, err
	}
	st, own := cfg.Store, false
	if st == nil {
		if st, err = OpenSQLite(ctx, filepath.Join(cfg.Dir, "registry.sqlite")); err != nil {
			return nil, err
		}
		own = true
	}
	tlsCfg, err := id.ServerTLS(cfg.Hosts)
	if err != nil {
		if own {
			st.Close()
		}
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		if own {
			st.Close()
		}
		return nil, fmt.Errorf("registry: listen: %w", err)
	}
	api := &Server{Store: st, Key: id.SigningKey, Identity: id, Log: cfg.Log, RequireClientCert: true, DeskCertValidity: cfg.DeskCertValidity,
		Bundles: &Bundles{Dir: filepath.Join(cfg.Dir, "bundles"), Key: id.SigningKey}}
	srv := &http.Server{Handler: api.Handler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug)}
	s := &Service{URL: "https://" + ln.Addr().String(), Identity: id, Store: st, Bundles: api.Bundles, srv: srv, done: make(chan error, 1), ownStore: own}
	go func() { s.done <- srv.ServeTLS(ln, "", "") }()
	cfg.Log.Info("registry listening", "url", s.URL, "ca_sha256", id.CAFingerprint())
	return s, nil
}

// Close stops the server, waits for requests in flight (up to 10 s) and closes the store it
// opened. Calling it again returns the first result.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		<-s.done
		if s.ownStore {
			if cerr := s.Store.Close(); err == nil {
				err = cerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}
