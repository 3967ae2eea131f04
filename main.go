// Command enrolldesk-gui (the repository root, built by `wails build` or
// `go build -tags desktop,production .`) is the desk's window: the Wails v2 app whose frontend is
// frontend/dist, bound to the services of desk/app.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"filippo.io/age"
	"github.com/wailsapp/wails/v2"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"
	"enrolldesk/desk/config"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/wire"
	"enrolldesk/reader/pa"
)

//go:embed all:frontend/dist
var assets embed.FS

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "enrolldesk:", err)
		os.Exit(1)
	}
}

func run() error {
	dataFlag := flag.String("data", "", "desk data directory (default $"+config.EnvDataDir+" or $XDG_DATA_HOME/enrolldesk)")
	cscaDir := flag.String("csca", os.Getenv("ENROLLDESK_CSCA"), "CSCA trust store directory for passive authentication ($ENROLLDESK_CSCA)")
	readerMatch := flag.String("reader", os.Getenv("ENROLLDESK_READER"), "use the PC/SC reader whose name contains this ($ENROLLDESK_READER; default the first)")
	sensorPath := flag.String("sensor", os.Getenv("ENROLLDESK_SENSOR"), "fingerprint sensor serial device, e.g. /dev/ttyUSB0 ($ENROLLDESK_SENSOR)")
	registryKey := flag.String("registry-recipient", os.Getenv("ENROLLDESK_REGISTRY_RECIPIENT"), "the registry's age public key that biometric blobs are sealed to ($ENROLLDESK_REGISTRY_RECIPIENT)")
	camera := flag.String("camera", os.Getenv("ENROLLDESK_CAMERA"), "camera: device index or /dev/videoN, a video file or an image folder (the simulated camera) ($ENROLLDESK_CAMERA)")
	models := flag.String("models", envOr("ENROLLDESK_MODELS", "models"), "face model directory ($ENROLLDESK_MODELS)")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	dir, err := config.DataDir(*dataFlag)
	if err != nil {
		return err
	}
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		return fmt.Errorf("frontend assets: %w", err)
	}
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		return fmt.Errorf("frontend not built (run `make frontend`): %w", err)
	}
	opt := app.Options{LocalDedup: true}
	card := &app.PCSCReader{Match: *readerMatch}
	if *cscaDir != "" {
		if card.Trust, err = pa.LoadTrustStore(*cscaDir); err != nil {
			return fmt.Errorf("CSCA trust store: %w", err)
		}
	} else {
		slog.Warn("no CSCA trust store (-csca): passive authentication cannot pass, every card will be refused")
	}
	opt.Card = card
	// The sensor and the camera exist even without their flags: the devices a supervisor saved in
	// the settings screen replace the flags' at start (app.SensorPortSetter, CameraSourceSetter),
	// and a desk installed without flags is configured there. Unconfigured, they show as missing.
	fingers := &app.SensorFinger{Path: *sensorPath}
	defer fingers.Close()
	opt.Finger = fingers
	cam := &wire.CameraFace{Models: *models, Source: face.Source{Name: *camera}}
	if *camera != "" && !cam.Source.IsDevice() {
		cam.Source.FPS = 10 // a clip or folder plays at a camera's pace
	}
	defer cam.Close()
	opt.Face = cam
	opt.FaceEngine = cam.DedupEngine // the gallery searches the deciding engine's descriptors
	opt.Evidence = cam               // a declared finger exception's evidence photo (CameraFace.Snapshot)
	if *registryKey != "" {
		if opt.Registry, err = age.ParseX25519Recipient(*registryKey); err != nil {
			return fmt.Errorf("registry recipient: %w", err)
		}
	}
	desk, err := app.Open(context.Background(), dir, opt)
	if err != nil {
		return err
	}
	defer desk.Close()
	fingers.Prompt = app.FingerPrompter(desk.Events)
	// The 1:1 face engine follows policy.face_engine, read at every capture.
	cam.EngineSetting = wire.FaceEngineSetting(settings.New(desk.DB, desk.Audit, nil))
	cam.Prompt = app.FacePrompter(desk.Events) // the window highlights the step awaited
	slog.Info("desk starting", "data_dir", dir)
	if err := wails.Run(app.WailsOptions(desk.App, dist)); err != nil {
		return fmt.Errorf("window: %w", err)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
