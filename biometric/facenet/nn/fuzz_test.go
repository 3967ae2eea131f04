package nn

import (
	"bytes"
	"testing"
)

// FuzzParseTFJS: any model.json (with the tiny model's shard) either parses into a graph that
// compiles and runs on a 2×2 input, or fails with an error; never a panic.
func FuzzParseTFJS(f *testing.F) {
	f.Add([]byte(tinyModelJSON))
	shard := tinyShard()
	f.Fuzz(func(t *testing.T, modelJSON []byte) {
		g, err := ParseTFJS(modelJSON, func(string) ([]byte, error) { return shard, nil })
		if err != nil {
			return
		}
		runSmall(g)
	})
}

// FuzzRead: any EDNN file either loads or fails with an error. The digest makes random bytes fail
// early, so the fuzzer also gets files whose digest it is handed re-sealed (see seal).
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	g, err := ParseTFJS([]byte(tinyModelJSON), func(string) ([]byte, error) { return tinyShard(), nil })
	if err != nil {
		f.Fatal(err)
	}
	if err := Write(&buf, g, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), false)
	f.Add(buf.Bytes(), true)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		if reseal {
			b = seal(b)
		}
		g, _, err := Read(b)
		if err != nil {
			return
		}
		runSmall(g)
	})
}

func runSmall(g *Graph) {
	m, err := g.Compile()
	if err != nil || len(g.Inputs) != 1 {
		return
	}
	shape := append([]int{}, g.Inputs[0].Shape...)
	for i, d := range shape {
		if d < 0 || d > 4 {
			shape[i] = 1
		}
	}
	_, _ = m.Run(NewTensor(shape...))
}
