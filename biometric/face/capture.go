package face

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// Source names a camera: a V4L2 device ("0", "/dev/video0"), a video file, or a folder of
// images (the simulated camera, played in name order).
type Source struct {
	Name string
	// Width, Height and FPS are requested from a device (0 keeps the driver's default); FPS also
	// paces files and folders (0: as fast as they decode).
	Width, Height int
	FPS           float64
	// Live makes a file or folder behave like a device: at its end it is reopened, and a source
	// that cannot be opened is retried (a camera unplugged and plugged in again).
	Live bool
}

// IsDevice reports whether the source is a camera device rather than a file or folder.
func (s Source) IsDevice() bool {
	if _, err := strconv.Atoi(s.Name); err == nil {
		return true
	}
	return strings.HasPrefix(s.Name, "/dev/video")
}

// Frame is one captured BGR frame. The receiver owns Mat and must Close it.
type Frame struct {
	Mat  gocv.Mat
	Seq  uint64
	Time time.Time
	// Pos is the frame's time in the stream: for files and folders paced by Source.FPS the
	// media time ((Seq−1)/FPS), else the time since the stream started. Time limits (liveness)
	// use Pos, so a slow computer replaying a clip judges the clip, not itself.
	Pos time.Duration
}

// Close frees the frame's pixels.
func (f Frame) Close() { f.Mat.Close() }

// Camera streams frames from a Source.
type Camera struct {
	src Source
	// ReconnectDelay is the first wait before reopening a lost device (doubling to 2 s).
	ReconnectDelay time.Duration
	// Log receives connection events (never image data).
	Log *slog.Logger

	mu        sync.Mutex
	err       error
	reconnect int
	started   time.Time
}

// NewCamera returns a camera for src; nothing is opened until Stream.
func NewCamera(src Source) *Camera {
	return &Camera{src: src, ReconnectDelay: 100 * time.Millisecond, Log: slog.Default()}
}

// Err returns why the stream ended (nil: context cancelled or a file source ended).
func (c *Camera) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Reconnects counts how often the source was reopened after a loss.
func (c *Camera) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reconnect
}

// Stream delivers frames until ctx is cancelled, a non-live file source ends, or a source that
// is not live fails. The channel is closed at the end (then see Err). For devices and live
// sources a slow consumer only ever gets the newest frame (older ones are dropped and closed);
// files and folders that are not live deliver every frame.
func (c *Camera) Stream(ctx context.Context) <-chan Frame {
	out := make(chan Frame, 1)
	go func() {
		defer close(out)
		err := c.run(ctx, out)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}()
	return out
}

// reader is one opened source.
type reader interface {
	read(m *gocv.Mat) (bool, error) // false at the end of a file source
	close()
}

func (c *Camera) open() (reader, error) {
	if st, err := os.Stat(c.src.Name); err == nil && st.IsDir() {
		return openFolder(c.src.Name)
	}
	if !c.src.IsDevice() {
		if _, err := os.Stat(c.src.Name); err != nil {
			return nil, fmt.Errorf("open camera %s: %w", c.src.Name, err)
		}
	}
	vc, err := gocv.OpenVideoCapture(c.src.Name)
	if err != nil {
		return nil, fmt.Errorf("open camera %s: %w", c.src.Name, err)
	}
	if !vc.IsOpened() {
		vc.Close()
		return nil, fmt.Errorf("open camera %s: not available", c.src.Name)
	}
	if c.src.IsDevice() {
		if c.src.Width > 0 && c.src.Height > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(c.src.Width))
			vc.Set(gocv.VideoCaptureFrameHeight, float64(c.src.Height))
		}
		if c.src.FPS > 0 {
			vc.Set(gocv.VideoCaptureFPS, c.src.FPS)
		}
	}
	return &videoReader{vc: vc, device: c.src.IsDevice()}, nil
}

type videoReader struct {
	vc     *gocv.VideoCapture
	device bool
}

func (v *videoReader) read(m *gocv.Mat) (bool, error) {
	if !v.vc.Read(m) || m.Empty() {
		if v.device {
			return false, errors.New("camera stopped delivering frames (unplugged?)")
		}
		return false, nil
	}
	return true, nil
}

func (v *videoReader) close() { v.vc.Close() }

type folderReader struct {
	files []string
	next  int
}

func openFolder(dir string) (reader, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open image folder: %w", err)
	}
	var files []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("open image folder %s: no images", dir)
	}
	sort.Strings(files)
	return &folderReader{files: files}, nil
}

func (f *folderReader) read(m *gocv.Mat) (bool, error) {
	if f.next >= len(f.files) {
		return false, nil
	}
	img := gocv.IMRead(f.files[f.next], gocv.IMReadColor)
	f.next++
	if img.Empty() {
		return false, fmt.Errorf("image folder: cannot read %s", f.files[f.next-1])
	}
	img.CopyTo(m)
	img.Close()
	return true, nil
}

func (f *folderReader) close() {}

func (c *Camera) run(ctx context.Context, out chan Frame) error {
	live := c.src.Live || c.src.IsDevice()
	delay := c.ReconnectDelay
	var seq uint64
	var interval time.Duration
	if c.src.FPS > 0 && !c.src.IsDevice() {
		interval = time.Duration(float64(time.Second) / c.src.FPS)
	}
	first := true
	c.started = time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := c.open()
		if err != nil {
			if !live {
				return err
			}
			c.Log.Warn("camera unavailable, retrying", "source", c.src.Name, "err", err)
			if err := sleep(ctx, delay); err != nil {
				return err
			}
			delay = min(2*delay, 2*time.Second)
			continue
		}
		if !first {
			c.mu.Lock()
			c.reconnect++
			c.mu.Unlock()
			c.Log.Info("camera reconnected", "source", c.src.Name)
		}
		first = false
		delay = c.ReconnectDelay
		err = c.pump(ctx, r, out, &seq, interval, live)
		r.close()
		if err != nil && !live {
			return err
		}
		if err == nil && !live {
			return nil // file ended
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.Log.Warn("camera lost", "source", c.src.Name, "err", err)
			if err := sleep(ctx, delay); err != nil {
				return err
			}
		}
	}
}

// pump reads frames until the source ends (nil) or fails (error).
func (c *Camera) pump(ctx context.Context, r reader, out chan Frame, seq *uint64, interval time.Duration, drop bool) error {
	next := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := gocv.NewMat()
		ok, err := r.read(&m)
		if err != nil || !ok {
			m.Close()
			return err
		}
		if interval > 0 {
			next = next.Add(interval)
			if err := sleep(ctx, time.Until(next)); err != nil {
				m.Close()
				return err
			}
		}
		*seq++
		f := Frame{Mat: m, Seq: *seq, Time: time.Now()}
		if interval > 0 {
			f.Pos = time.Duration(*seq-1) * interval
		} else {
			f.Pos = f.Time.Sub(c.started)
		}
		if drop {
			// Keep only the newest frame for a slow consumer.
			select {
			case out <- f:
			default:
				select {
				case old := <-out:
					old.Close()
				default:
				}
				select {
				case out <- f:
				case <-ctx.Done():
					f.Close()
					return ctx.Err()
				}
			}
			continue
		}
		select {
		case out <- f:
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Previewer turns frames into small JPEGs for the GUI at a bounded rate.
type Previewer struct {
	MaxFPS float64
	Width  int
	last   time.Time
}

// Offer returns a preview JPEG of frame when at least 1/MaxFPS passed since the last one.
func (p *Previewer) Offer(frame gocv.Mat, now time.Time) ([]byte, bool, error) {
	if p.MaxFPS > 0 && !p.last.IsZero() && now.Sub(p.last) < time.Duration(float64(time.Second)/p.MaxFPS) {
		return nil, false, nil
	}
	p.last = now
	w := p.Width
	if w <= 0 {
		w = 640
	}
	small := gocv.NewMat()
	defer small.Close()
	h := frame.Rows() * w / max(frame.Cols(), 1)
	gocv.Resize(frame, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, small, []int{gocv.IMWriteJpegQuality, 80})
	if err != nil {
		return nil, false, fmt.Errorf("preview: %w", err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), true, nil
}
