// Command bridge serves desk/app's bound structs and the built frontend over HTTP on loopback, so
// a plain browser (the Playwright suite, frontend development) drives the real Go backend exactly
// as the Wails window does. It prints "bridge listening on http://ADDR" once it accepts calls.
//
// For the end-to-end suite it also runs the simulated peers: the virtual CCCD on pcscd + vpcd
// (-vcard-face, holding the machine-wide vpcd lock), the R30x sensor simulator on a pty (-fpsim),
// the simulated camera rendered from real photos (-camera-clip) and the registry service on
// loopback (-registry). -test-hooks mounts /api/test/* (registry.go): register the desk with that
// registry, take its listener down and up (an outage), hand over another card.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"filippo.io/age"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"
	"enrolldesk/desk/config"
	"enrolldesk/desk/opstest/deskpolicy"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/wire"
	"enrolldesk/reader/pa"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}

// configureDesk applies the -desk-settings JSON over the desk's current settings as a signed
// document (desk/opstest/deskpolicy.Configure).
func configureDesk(ctx context.Context, desk *app.Desk, deskID, js string) error {
	probe := settings.Defaults()
	if err := json.Unmarshal([]byte(js), &probe); err != nil {
		return fmt.Errorf("-desk-settings: %w", err)
	}
	var bad error
	err := deskpolicy.Configure(ctx, desk.DB, desk.Audit, deskID, nil, func(s *settings.Settings) {
		bad = json.Unmarshal([]byte(js), s)
	})
	if bad != nil {
		return fmt.Errorf("-desk-settings: %w", bad)
	}
	return err
}

// photoStill is the simulated camera's still photo: a JPEG file of the clip, as it is.
type photoStill struct{ path string }

func (p photoStill) Snapshot(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return nil, fmt.Errorf("evidence photo: %w", err)
	}
	return b, nil
}

// deskIDOf returns the desk's id, "" before provisioning.
func deskIDOf(ctx context.Context, desk *app.Desk) (string, error) {
	d, err := provision.Load(ctx, desk.DB)
	if errors.Is(err, provision.ErrNotProvisioned) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("desk identity: %w", err)
	}
	return d.ID, nil
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:34115", "listen address (loopback only)")
	data := flag.String("data", "", "desk data directory")
	static := flag.String("static", "frontend/dist", "built frontend directory")
	fastKDF := flag.Bool("fast-kdf", false, "cheap argon2id costs for test desks (never for real data)")
	virtualCard := flag.String("vcard-face", "", "serve a virtual CCCD with this face JPEG to vpcd (starting pcscd if needed) and trust its test CSCA")
	cscaDir := flag.String("csca", "", "CSCA trust store directory for passive authentication")
	readerMatch := flag.String("reader", "", "use the PC/SC reader whose name contains this")
	fpsim := flag.Bool("fpsim", false, "serve a simulated R30x fingerprint sensor on a pty (generated fingers, fast link)")
	sensorPath := flag.String("sensor", "", "fingerprint sensor serial device")
	registryKey := flag.String("registry-recipient", "", "the registry's age public key (age1...) that biometric blobs are sealed to")
	camera := flag.String("camera", "", "camera: device index or /dev/videoN, a video file or an image folder (the simulated camera)")
	models := flag.String("models", "models", "face model directory")
	cameraClip := flag.String("camera-clip", "", "simulated camera: build a clip in the data directory from real photos, \"photo:frames,...\" (overrides -camera)")
	cameraCard := flag.String("camera-card", "", "simulated camera: start with the front of the virtual card (the e2e citizen's QR code, this photo printed on it), before the -camera-clip if any")
	vcardTrust := flag.String("vcard-trust", "", "with -vcard-face: also write the virtual card's CSCA trust store to this directory (for a second desk that reads the same card)")
	embedded := flag.Bool("registry", false, "run the registry service (sync/registry) on loopback with its data in the desk's data directory; its key seals the biometric blobs")
	deskSettings := flag.String("desk-settings", "", "test desks: JSON merged over the desk's settings (e.g. {\"policy\":{\"supervisor_approval\":false}}), applied as a signed settings document from a test registry key when the desk is provisioned (desk/opstest/deskpolicy.Configure); never on a real desk")
	hooks := flag.Bool("test-hooks", false, "mount /api/test/* for the end-to-end suite (register the desk with the embedded registry, stop and start its listener); never on a real desk")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := config.DataDir(*data)
	if err != nil {
		return err
	}
	opt := app.Options{LocalDedup: true}
	if *fastKDF {
		opt.KDF = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	}
	card := &app.PCSCReader{Match: *readerMatch}
	if *cscaDir != "" {
		if card.Trust, err = pa.LoadTrustStore(*cscaDir); err != nil {
			return fmt.Errorf("CSCA trust store: %w", err)
		}
	}
	var vc *servedCard
	if *virtualCard != "" {
		if vc, err = startVirtualCard(ctx, *virtualCard, *vcardTrust); err != nil {
			return err
		}
		defer vc.stop()
		card.Trust, card.Match = vc.trust, vpcdReader
	}
	opt.Card = card
	var fingers *app.SensorFinger
	if *sensorPath != "" {
		fingers = &app.SensorFinger{Path: *sensorPath}
	}
	if *fpsim {
		path, stopSim, err := startSensorSim()
		if err != nil {
			return err
		}
		defer stopSim()
		fingers = &app.SensorFinger{Path: path}
	}
	if fingers != nil {
		defer fingers.Close()
		opt.Finger = fingers
	}
	var stillPhoto string // the simulated camera's still: the clip's first photo
	if *cameraClip != "" {
		seq, err := wire.ParseClip(*cameraClip)
		if err != nil {
			return err
		}
		if len(seq) > 0 {
			stillPhoto = seq[0].Photo
		}
		*camera = filepath.Join(dir, "camera.avi")
		sim := &wire.CameraFace{Models: *models}
		if *cameraCard != "" {
			c, cerr := e2eCitizen(*cameraCard)
			if cerr != nil {
				sim.Close()
				return cerr
			}
			err = sim.WriteClipWithCard(ctx, *camera, wire.CardFront{QR: wire.CCCDQRText(c.VN), Photo: *cameraCard}, seq, 10)
		} else {
			err = sim.WriteClip(ctx, *camera, seq, 10)
		}
		sim.Close()
		if err != nil {
			return err
		}
	}
	if *cameraCard != "" && *cameraClip == "" {
		// The card front alone (a desk that only does the card step): no face models needed.
		c, err := e2eCitizen(*cameraCard)
		if err != nil {
			return err
		}
		*camera = filepath.Join(dir, "camera-card.avi")
		if err := wire.WriteCardClip(*camera, wire.CardFront{QR: wire.CCCDQRText(c.VN), Photo: *cameraCard}, 10); err != nil {
			return err
		}
	}
	var cam *wire.CameraFace
	if *camera != "" {
		cam = &wire.CameraFace{Models: *models, Source: face.Source{Name: *camera}}
		if !cam.Source.IsDevice() {
			cam.Source.FPS = 10 // a clip or folder plays at a camera's pace
		}
		defer cam.Close()
		opt.Face = cam
		opt.FaceEngine = cam.DedupEngine // the gallery searches the deciding engine's descriptors
		// Declared finger exceptions take their evidence photo from the same camera (the
		// simulated camera: the clip's first photo), as in the window (CameraFace.Snapshot).
		opt.Evidence = cam
		if stillPhoto != "" {
			opt.Evidence = photoStill{path: stillPhoto}
		}
	}
	if *registryKey != "" {
		if opt.Registry, err = age.ParseX25519Recipient(*registryKey); err != nil {
			return fmt.Errorf("registry recipient: %w", err)
		}
	}
	var reg *embeddedRegistry
	if *embedded {
		if reg, err = startRegistry(ctx, filepath.Join(dir, "registry")); err != nil {
			return err
		}
		defer func() {
			if err := reg.stop(); err != nil {
				slog.Warn("stop the embedded registry", "err", err)
			}
		}()
		opt.Registry = reg.id.Seal.Recipient()
		fmt.Printf("registry %s\n", reg.url())
	}
	var desk *app.Desk
	if *deskSettings != "" {
		// The desk's policy comes from the registry's signed settings in the field; a test desk
		// gets an explicit one (the defaults ask for supervisor review and a CRL-fresh trust store).
		opt.Provisioned = func(ctx context.Context, deskID string) error {
			return configureDesk(ctx, desk, deskID, *deskSettings)
		}
	}
	desk, err = app.Open(ctx, dir, opt)
	if err != nil {
		return err
	}
	defer desk.Close()
	if *deskSettings != "" {
		if id, err := deskIDOf(ctx, desk); err != nil {
			return err
		} else if id != "" {
			if err := configureDesk(ctx, desk, id, *deskSettings); err != nil {
				return err
			}
		}
	}
	if fingers != nil {
		fingers.Prompt = app.FingerPrompter(desk.Events)
	}
	if cam != nil {
		// The 1:1 face engine follows policy.face_engine, read at every capture.
		cam.EngineSetting = wire.FaceEngineSetting(settings.New(desk.DB, desk.Audit, nil))
		cam.Prompt = app.FacePrompter(desk.Events) // the window highlights the step awaited
	}
	desk.Start(ctx)
	b, err := app.NewBridge(desk.App, os.DirFS(*static))
	if err != nil {
		return err
	}
	var handler http.Handler = b
	if *hooks {
		mux := http.NewServeMux()
		mux.Handle("/api/test/", testHooks(ctx, reg, vc, desk, dir))
		mux.Handle("/", b)
		handler = mux
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("listen address %q: the bridge has no login of its own and listens on loopback only", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second,
		// Event streams end when the bridge is told to stop, so Shutdown does not wait on them.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	fmt.Printf("bridge listening on http://%s (data %s)\n", ln.Addr(), dir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
