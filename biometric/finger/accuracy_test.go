package finger

import (
	"context"
	"testing"
)

// TestAccuracyFVC evaluates the extractor and matcher on both FVC sets with every genuine pair and
// every cross-finger impostor pair (the figures `enrolldesk finger eval` prints), and fails when
// accuracy falls below what this version reaches: the limits sit one genuine pair (0.36 %) above the
// measured figures (DB1_B EER 1.07 %, FNMR 2.14 % at FMR 0.1 %; DB4_B EER 2.45 %, FNMR 8.21 %).
// Issue 4's targets on DB1_B are EER ≤ 2 % and FNMR ≤ 4 % at FMR 0.1 %.
func TestAccuracyFVC(t *testing.T) {
	for _, c := range []struct {
		set              string
		maxEER, maxF1000 float64
	}{
		{"fvc2002_db1_b", 0.0145, 0.025},
		{"fvc2000_db4_b", 0.0285, 0.086},
	} {
		samples, err := LoadDir(dataDir(t, c.set))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Evaluate(context.Background(), samples)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: EER %.2f %%, FMR100 %.2f %%, FMR1000 %.2f %%", c.set, 100*r.EER, 100*r.FMR100, 100*r.FMR1000)
		if len(r.Genuine) != 280 || len(r.Impostor) != 2880 || r.FailedToEnrol != 0 {
			t.Fatalf("%s: %d genuine, %d impostor pairs, %d failed to enrol", c.set, len(r.Genuine), len(r.Impostor), r.FailedToEnrol)
		}
		if r.EER > c.maxEER || r.FMR1000 > c.maxF1000 {
			t.Errorf("%s: EER %.2f %% (limit %.1f %%), FMR1000 %.2f %% (limit %.1f %%)", c.set,
				100*r.EER, 100*c.maxEER, 100*r.FMR1000, 100*c.maxF1000)
		}
	}
}
