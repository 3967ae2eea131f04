package eval

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
)

// TargetFMR is the operating point the desk is judged at: FMR 0.1 %.
const TargetFMR = 0.001

// Scores builds genuine (same identity) and impostor (different identities) distances over every
// pair of images. desc maps an image path to its descriptor; a missing or nil descriptor is a
// failure to acquire and counts as a non-match (match.Failure) in every pair it is part of.
func Scores(images []Image, desc map[string][]float32) (match.Scores, error) {
	var s match.Scores
	for i := 0; i < len(images); i++ {
		for j := i + 1; j < len(images); j++ {
			a, b := desc[images[i].Path], desc[images[j].Path]
			d := match.Failure
			if a != nil && b != nil {
				var err error
				if d, err = embedding.Distance(a, b); err != nil {
					return match.Scores{}, fmt.Errorf("scores: %w", err)
				}
			}
			if images[i].ID == images[j].ID {
				s.Genuine = append(s.Genuine, d)
			} else {
				s.Impostor = append(s.Impostor, d)
			}
		}
	}
	return s, nil
}

// Row is one engine on one slice.
type Row struct {
	Engine, Slice           string
	Identities, Images, FTA int
	Genuine, Impostor       int
	EER                     match.Rates
	AtTarget                match.Rates // threshold at FMR ≤ 0.1 % with its FMR and FNMR
	// AtPooled: the rates in this slice at the threshold that holds FMR 0.1 % on the pooled
	// dataset (what a single global threshold does to this population); nil when not computed
	// (the slice is the whole dataset).
	AtPooled *match.Rates `json:",omitempty"`
}

// Measure computes a row.
func Measure(engine string, sl Slice, images []Image, desc map[string][]float32, pooledThreshold float64) (Row, error) {
	s, err := Scores(images, desc)
	if err != nil {
		return Row{}, err
	}
	if len(s.Genuine) == 0 || len(s.Impostor) == 0 {
		return Row{}, fmt.Errorf("slice %s: needs genuine and impostor pairs", sl.Name)
	}
	ids := map[string]bool{}
	fta := 0
	for _, im := range images {
		ids[im.ID] = true
		if desc[im.Path] == nil {
			fta++
		}
	}
	r := Row{Engine: engine, Slice: sl.Name, Identities: len(ids), Images: len(images), FTA: fta,
		Genuine: len(s.Genuine), Impostor: len(s.Impostor), EER: s.EER(), AtTarget: s.AtFMR(TargetFMR)}
	if !math.IsNaN(pooledThreshold) {
		at := s.At(pooledThreshold)
		r.AtPooled = &at
	}
	return r, nil
}

// Worst returns, per engine, the slice with the highest FNMR at FMR 0.1 % (ties: higher EER).
func Worst(rows []Row) map[string]Row {
	out := map[string]Row{}
	for _, r := range rows {
		w, ok := out[r.Engine]
		if !ok || r.AtTarget.FNMR > w.AtTarget.FNMR || (r.AtTarget.FNMR == w.AtTarget.FNMR && r.EER.FMR > w.EER.FMR) {
			out[r.Engine] = r
		}
	}
	return out
}

// WriteMarkdown prints the rows as a Markdown table, then each engine's worst slice.
func WriteMarkdown(w io.Writer, rows []Row, perFace map[string]string) error {
	var b strings.Builder
	b.WriteString("| engine | slice | ids | images | FTA | genuine | impostor | EER | thr@EER | thr@FMR0.1% | FMR | FNMR@FMR0.1% | FMR / FNMR at pooled thr |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		pooled := "—"
		if r.AtPooled != nil {
			pooled = fmt.Sprintf("%s / %s", pct(r.AtPooled.FMR), pct(r.AtPooled.FNMR))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s | %.4f | %.4f | %s | **%s** | %s |\n",
			r.Engine, r.Slice, r.Identities, r.Images, r.FTA, r.Genuine, r.Impostor, pct(r.EER.FMR/2+r.EER.FNMR/2),
			r.EER.Threshold, r.AtTarget.Threshold, pct(r.AtTarget.FMR), pct(r.AtTarget.FNMR), pooled)
	}
	worst := Worst(rows)
	engines := make([]string, 0, len(worst))
	for e := range worst {
		engines = append(engines, e)
	}
	sort.Strings(engines)
	b.WriteString("\n")
	for _, e := range engines {
		r := worst[e]
		extra := ""
		if t, ok := perFace[e]; ok {
			extra = "; time per face " + t
		}
		fmt.Fprintf(&b, "- %s: worst slice **%s** (FNMR %s at FMR 0.1 %%, EER %s)%s\n", e, r.Slice,
			pct(r.AtTarget.FNMR), pct(r.EER.FMR/2+r.EER.FNMR/2), extra)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(x float64) string { return fmt.Sprintf("%.2f %%", 100*x) }
