// Command opcheck-eval measures the operator check's face path on the shared faces, with each
// identity in turn as the logged-in officer: how many honest enrollments (a citizen who is
// someone else) it flags, and how many self-enrollments (another photo of the officer) it catches.
//
// The threshold is set the way the desk must set it — at a false-match rate of 0.1 % on the worst
// population slice — but on a calibration half of the identities, and the rates are measured on
// the other half, so the figure is not tuned on the data it reports. East and Southeast Asian identities (east_asian/
// and the LFW ones DESIGN.md names) are reported separately as well as pooled.
//
//	go run ./desk/opcheck/cmd/opcheck-eval -data ../shared/testdata -models models
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
	"enrolldesk/desk/opcheck"
)

// asianLFW are the LFW identities of East or Southeast Asian origin (../shared/testdata/README.md).
var asianLFW = map[string]bool{"Hu_Jintao": true, "Kim_Ryong-sung": true, "Mahathir_Mohamad": true,
	"Paradorn_Srichaphan": true, "Tang_Jiaxuan": true}

type photo struct {
	id, set string
	asian   bool
	desc    map[string][]float32 // engine name -> descriptor
}

func main() {
	data := flag.String("data", "../shared/testdata", "shared test-data root")
	models := flag.String("models", "models", "models directory")
	workers := flag.Int("workers", 2, "photos analysed at once")
	engines := flag.String("engines", "dlib,faceres", "engines: dlib and facenet model names")
	maxMiss := flag.Float64("max-false-flag", 100*opcheck.MaxFalseFlagRate, "fail when a slice's false-flag rate (%) exceeds this")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *data, *models, strings.Split(*engines, ","), *workers, *maxMiss); err != nil {
		fmt.Fprintln(os.Stderr, "opcheck-eval:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, models string, engines []string, workers int, maxFalse float64) error {
	var imgs []eval.Image
	sets := map[string]string{}
	for _, set := range []string{"faces/lfw", "faces/east_asian"} {
		ims, err := eval.ListDataset(filepath.Join(root, set))
		if err != nil {
			return err
		}
		for _, im := range ims {
			sets[im.Path] = set
		}
		imgs = append(imgs, ims...)
	}
	eng, err := face.NewEngine(models, face.Options{Recognizers: workers})
	if err != nil {
		return err
	}
	defer eng.Close()
	var nets []*facenet.Engine
	for _, name := range engines {
		if name == "dlib" {
			continue
		}
		n, err := facenet.NewEngine(models, name, facenet.Options{})
		if err != nil {
			return err
		}
		nets = append(nets, n)
	}
	photos := make([]*photo, len(imgs))
	var wg sync.WaitGroup
	jobs := make(chan int)
	var failed int
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				desc, err := describe(ctx, eng, nets, imgs[i].Path)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					set := sets[imgs[i].Path]
					photos[i] = &photo{id: set + "/" + imgs[i].ID, set: set, desc: desc,
						asian: set == "faces/east_asian" || asianLFW[imgs[i].ID]}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range imgs {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	byID := map[string][]*photo{}
	for _, p := range photos {
		if p != nil {
			byID[p.id] = append(byID[p.id], p)
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// Alternate identities between the calibration and the test half.
	var calib, test []string
	for i, id := range ids {
		if i%2 == 0 {
			calib = append(calib, id)
		} else {
			test = append(test, id)
		}
	}
	fmt.Printf("%d photos described, %d without a face; %d identities (%d calibration, %d test)\n",
		len(imgs)-failed, failed, len(ids), len(calib), len(test))
	var fails []string
	for _, name := range engines {
		if name == "dlib" {
			name = eng.Name()
		} else {
			for _, n := range nets {
				if strings.HasPrefix(n.Name(), "facenet-"+name+"-") {
					name = n.Name()
				}
			}
		}
		worst, err := report(name, byID, calib, test)
		if err != nil {
			return err
		}
		if worst > maxFalse {
			fails = append(fails, fmt.Sprintf("%s flags %.3f %% of honest enrollments on a slice (limit %.3f %%)", name, worst, maxFalse))
		}
	}
	if len(fails) > 0 {
		return fmt.Errorf("%s", strings.Join(fails, "; "))
	}
	return nil
}

// report measures one engine and prints its table; it returns the worst slice's false-flag rate (%).
func report(engine string, byID map[string][]*photo, calib, test []string) (float64, error) {
	// The desk uses the worst slice's threshold: dlib separates East and Southeast Asian faces far
	// worse than others, and a Vietnamese desk compares Vietnamese officers with Vietnamese citizens.
	pooledTh, nPooled, err := thresholdAt(engine, byID, calib, func(*photo) bool { return true })
	if err != nil {
		return 0, err
	}
	asianTh, nAsian, err := thresholdAt(engine, byID, calib, func(p *photo) bool { return p.asian })
	if err != nil {
		return 0, err
	}
	threshold := math.Min(pooledTh, asianTh)
	fmt.Printf("\nengine %s: threshold at FMR 0.1%% on the calibration half: pooled %.4f (%d impostor pairs), East/Southeast Asian %.4f (%d pairs); using %.4f\n\n",
		engine, pooledTh, nPooled, asianTh, nAsian, threshold)
	fmt.Println("| slice | honest enrollments | falsely flagged | rate | self-enrollments | caught | rate |")
	fmt.Println("|---|---|---|---|---|---|---|")
	worst := 0.0
	for _, slice := range []struct {
		name string
		keep func(*photo) bool
	}{
		{"all (test half)", func(*photo) bool { return true }},
		{"East/Southeast Asian", func(p *photo) bool { return p.asian }},
	} {
		var honest, flagged, self, caught int
		for _, off := range test {
			o := byID[off]
			if !slice.keep(o[0]) {
				continue
			}
			officer := o[0].desc[engine]
			for _, cit := range test {
				for j, p := range byID[cit] {
					if !slice.keep(p) || (cit == off && j == 0) {
						continue
					}
					d, err := embedding.Distance(officer, p.desc[engine])
					if err != nil {
						return 0, err
					}
					hit := d <= threshold
					if cit == off {
						self++
						if hit {
							caught++
						}
					} else {
						honest++
						if hit {
							flagged++
						}
					}
				}
			}
		}
		rate := 100 * float64(flagged) / math.Max(1, float64(honest))
		worst = math.Max(worst, rate)
		fmt.Printf("| %s | %d | %d | %.3f %% | %d | %d | %.1f %% |\n", slice.name, honest, flagged, rate, self, caught,
			100*float64(caught)/math.Max(1, float64(self)))
	}
	return worst, nil
}

// describe finds the photo's subject with the dlib pipeline (which also gives the dlib
// descriptor) and embeds the same face with each facenet engine.
func describe(ctx context.Context, eng *face.Engine, nets []*facenet.Engine, path string) (map[string][]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mat, err := face.DecodeImage(raw)
	if err != nil {
		return nil, err
	}
	defer mat.Close()
	a, err := eng.AnalyzePhoto(ctx, mat)
	if err != nil {
		return nil, err
	}
	subj, ok := a.Subject()
	if !ok {
		return nil, face.ErrNoFace
	}
	out := map[string][]float32{eng.Name(): subj.Descriptor}
	if len(nets) == 0 {
		return out, nil
	}
	img, err := face.MatToImage(mat, image.Rect(0, 0, mat.Cols(), mat.Rows()))
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		d, err := n.Embed(ctx, img, subj.Face)
		if err != nil {
			return nil, err
		}
		out[n.Name()] = d
	}
	return out, nil
}

// thresholdAt returns the largest distance with at most 0.1 % of the impostor pairs among the
// given identities' photos (kept by keep) at or below it, and the number of pairs.
func thresholdAt(engine string, byID map[string][]*photo, ids []string, keep func(*photo) bool) (float64, int, error) {
	var impostor []float64
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			for _, p := range byID[a] {
				for _, q := range byID[b] {
					if !keep(p) || !keep(q) {
						continue
					}
					d, err := embedding.Distance(p.desc[engine], q.desc[engine])
					if err != nil {
						return 0, 0, err
					}
					impostor = append(impostor, d)
				}
			}
		}
	}
	if len(impostor) == 0 {
		return 0, 0, fmt.Errorf("no impostor pairs")
	}
	sort.Float64s(impostor)
	k := int(math.Floor(opcheck.MaxFalseFlagRate * float64(len(impostor))))
	if k == 0 {
		return impostor[0] - 1e-9, len(impostor), nil
	}
	return impostor[k-1], len(impostor), nil
}
