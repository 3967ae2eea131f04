package nn

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The TF.js graph-model format (tfjs-converter, "graph-model"): model.json holds
// modelTopology (a TensorFlow GraphDef rendered as JSON: attribute strings base64, 64-bit ints as
// decimal strings) and weightsManifest (groups of shard files; each weight's bytes follow the
// previous one's across the concatenated shards, optionally quantised to uint8/uint16 with
// min+scale·q or stored as IEEE 754 binary16).

type tfjsModel struct {
	Format        string `json:"format"`
	ModelTopology struct {
		Node []tfjsNode `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []tfjsWeight `json:"weights"`
	} `json:"weightsManifest"`
	Signature struct {
		Outputs map[string]struct {
			Name string `json:"name"`
		} `json:"outputs"`
	} `json:"signature"`
	UserDefinedMetadata struct {
		Signature struct {
			Outputs map[string]struct {
				Name string `json:"name"`
			} `json:"outputs"`
		} `json:"signature"`
	} `json:"userDefinedMetadata"`
}

type tfjsNode struct {
	Name  string              `json:"name"`
	Op    string              `json:"op"`
	Input []string            `json:"input"`
	Attr  map[string]tfjsAttr `json:"attr"`
}

type tfjsAttr struct {
	S    *string  `json:"s"`
	I    *string  `json:"i"`
	F    *float64 `json:"f"`
	B    *bool    `json:"b"`
	List *struct {
		S []string `json:"s"`
		I []string `json:"i"`
	} `json:"list"`
	Shape *struct {
		Dim []struct {
			Size string `json:"size"`
		} `json:"dim"`
	} `json:"shape"`
}

type tfjsWeight struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	Dtype        string `json:"dtype"`
	Quantization *struct {
		Dtype string   `json:"dtype"`
		Min   *float64 `json:"min"`
		Scale *float64 `json:"scale"`
	} `json:"quantization"`
}

// LoadTFJS reads a TF.js graph model: model.json and the weight shards it names, which must sit
// in the same directory. Quantised weights are de-quantised to float32.
func LoadTFJS(modelJSON string) (*Graph, error) {
	raw, err := os.ReadFile(modelJSON)
	if err != nil {
		return nil, fmt.Errorf("read tfjs model: %w", err)
	}
	dir := filepath.Dir(modelJSON)
	return ParseTFJS(raw, func(name string) ([]byte, error) {
		if name != filepath.Base(name) || name == "" || name == "." || name == ".." {
			return nil, fmt.Errorf("weight shard %q: must be a file name beside model.json", name)
		}
		return os.ReadFile(filepath.Join(dir, name))
	})
}

// ParseTFJS decodes model.json; shard returns the bytes of a weight shard named in the manifest.
func ParseTFJS(modelJSON []byte, shard func(name string) ([]byte, error)) (*Graph, error) {
	var tm tfjsModel
	if err := json.Unmarshal(modelJSON, &tm); err != nil {
		return nil, fmt.Errorf("parse model.json: %w", err)
	}
	if tm.Format != "" && tm.Format != "graph-model" {
		return nil, fmt.Errorf("parse model.json: format %q, want graph-model", tm.Format)
	}
	g := &Graph{Consts: map[string]*Tensor{}}
	for _, grp := range tm.WeightsManifest {
		var data []byte
		for _, p := range grp.Paths {
			b, err := shard(p)
			if err != nil {
				return nil, fmt.Errorf("read weight shard: %w", err)
			}
			data = append(data, b...)
		}
		off := 0
		for _, w := range grp.Weights {
			t, n, err := decodeWeight(w, data[off:])
			if err != nil {
				return nil, fmt.Errorf("weight %q: %w", w.Name, err)
			}
			off += n
			g.Consts[w.Name] = t
		}
	}
	for _, tn := range tm.ModelTopology.Node {
		switch tn.Op {
		case "Const":
			if _, ok := g.Consts[tn.Name]; !ok {
				return nil, fmt.Errorf("const %q has no weight in the manifest", tn.Name)
			}
			continue
		case "Placeholder":
			in := Input{Name: tn.Name}
			if a, ok := tn.Attr["shape"]; ok && a.Shape != nil {
				for _, d := range a.Shape.Dim {
					v, err := strconv.Atoi(d.Size)
					if err != nil {
						return nil, fmt.Errorf("placeholder %q: bad dim %q", tn.Name, d.Size)
					}
					in.Shape = append(in.Shape, v)
				}
			}
			g.Inputs = append(g.Inputs, in)
			continue
		}
		n, err := decodeNode(tn)
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", tn.Name, err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, sig := range []map[string]struct {
		Name string `json:"name"`
	}{tm.Signature.Outputs, tm.UserDefinedMetadata.Signature.Outputs} {
		for _, o := range sig {
			g.Outputs = append(g.Outputs, o.Name)
		}
		if len(g.Outputs) > 0 {
			break
		}
	}
	return g, nil
}

func decodeNode(tn tfjsNode) (Node, error) {
	n := Node{Name: tn.Name, Op: tn.Op}
	for _, in := range tn.Input {
		if strings.HasPrefix(in, "^") {
			continue // control dependency: ordering only, irrelevant for a pure function
		}
		n.Inputs = append(n.Inputs, in)
	}
	var err error
	str := func(key string) string {
		a, ok := tn.Attr[key]
		if !ok || a.S == nil {
			return ""
		}
		b, e := base64.StdEncoding.DecodeString(*a.S)
		if e != nil && err == nil {
			err = fmt.Errorf("attr %s: %w", key, e)
		}
		return string(b)
	}
	ints := func(key string) []int {
		a, ok := tn.Attr[key]
		if !ok || a.List == nil {
			return nil
		}
		out := make([]int, 0, len(a.List.I))
		for _, s := range a.List.I {
			v, e := strconv.Atoi(s)
			if e != nil && err == nil {
				err = fmt.Errorf("attr %s: %w", key, e)
			}
			out = append(out, v)
		}
		return out
	}
	boolean := func(key string) bool {
		a, ok := tn.Attr[key]
		return ok && a.B != nil && *a.B
	}
	n.Padding = str("padding")
	if f := str("data_format"); f != "" && f != "NHWC" {
		return n, fmt.Errorf("data format %s not supported", f)
	}
	n.Strides = ints("strides")
	n.KSize = ints("ksize")
	for _, d := range ints("dilations") {
		if d != 1 {
			return n, fmt.Errorf("dilated convolution not supported")
		}
	}
	if a, ok := tn.Attr["fused_ops"]; ok && a.List != nil {
		for _, s := range a.List.S {
			b, e := base64.StdEncoding.DecodeString(s)
			if e != nil {
				return n, fmt.Errorf("fused_ops: %w", e)
			}
			n.Fused = append(n.Fused, string(b))
		}
	}
	n.Dims = ints("squeeze_dims")
	n.KeepDims = boolean("keep_dims")
	n.TransposeA = boolean("transpose_a")
	n.TransposeB = boolean("transpose_b")
	if a, ok := tn.Attr["alpha"]; ok && a.F != nil {
		n.Alpha = float32(*a.F)
	}
	return n, err
}

// decodeWeight decodes one weight from the front of data and says how many bytes it used.
func decodeWeight(w tfjsWeight, data []byte) (*Tensor, int, error) {
	count := 1
	for _, d := range w.Shape {
		if d < 0 || (d > 0 && count > maxElements/d) {
			return nil, 0, fmt.Errorf("bad shape %v", w.Shape)
		}
		count *= d
	}
	if len(data) < count {
		return nil, 0, fmt.Errorf("shard too short: need %d values, have %d bytes", count, len(data))
	}
	t := &Tensor{Shape: append([]int{}, w.Shape...), Data: make([]float32, count)}
	need := func(size int) error {
		if len(data) < count*size {
			return fmt.Errorf("shard too short: need %d bytes, have %d", count*size, len(data))
		}
		return nil
	}
	if q := w.Quantization; q != nil {
		switch q.Dtype {
		case "float16":
			if err := need(2); err != nil {
				return nil, 0, err
			}
			for i := range t.Data {
				t.Data[i] = halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return t, 2 * count, nil
		case "uint8", "uint16":
			if q.Min == nil || q.Scale == nil {
				return nil, 0, fmt.Errorf("%s quantisation without min/scale", q.Dtype)
			}
			mn, sc := float32(*q.Min), float32(*q.Scale)
			size := 1
			if q.Dtype == "uint16" {
				size = 2
			}
			if err := need(size); err != nil {
				return nil, 0, err
			}
			for i := range t.Data {
				var v uint16
				if size == 1 {
					v = uint16(data[i])
				} else {
					v = binary.LittleEndian.Uint16(data[2*i:])
				}
				t.Data[i] = float32(v)*sc + mn
				if w.Dtype == "int32" {
					t.Data[i] = float32(math.Round(float64(t.Data[i])))
				}
			}
			return t, size * count, nil
		default:
			return nil, 0, fmt.Errorf("quantisation %q not supported", q.Dtype)
		}
	}
	if err := need(4); err != nil {
		return nil, 0, err
	}
	switch w.Dtype {
	case "float32":
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case "int32":
		for i := range t.Data {
			t.Data[i] = float32(int32(binary.LittleEndian.Uint32(data[4*i:])))
		}
	default:
		return nil, 0, fmt.Errorf("dtype %q not supported", w.Dtype)
	}
	return t, 4 * count, nil
}

// halfToFloat converts IEEE 754 binary16 to float32 (subnormals, infinities and NaN included).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac · 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
