package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// The project's converted-model file ("EDNN", one file per model):
//
//	magic "EDNN1\n" | uint32 LE header length | header (JSON: graph, tensor table, metadata) |
//	float32 LE tensor data | SHA-256 of everything before it (32 bytes)
//
// Weights are stored de-quantised, so loading is a copy and the digest catches a truncated or
// corrupted file before any tensor is used.
const magic = "EDNN1\n"

type fileHeader struct {
	Inputs  []Input           `json:"inputs"`
	Outputs []string          `json:"outputs"`
	Nodes   []Node            `json:"nodes"`
	Tensors []tensorEntry     `json:"tensors"`
	Meta    map[string]string `json:"meta,omitempty"`
}

type tensorEntry struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"` // in float32 elements from the start of the data section
}

// Write serialises the graph in the EDNN format. Only constants some node uses are kept.
func Write(w io.Writer, g *Graph, meta map[string]string) error {
	used := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if b, err := baseName(in); err == nil {
				used[b] = true
			}
		}
	}
	names := make([]string, 0, len(g.Consts))
	for name := range g.Consts {
		if used[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	h := fileHeader{Inputs: g.Inputs, Outputs: g.Outputs, Nodes: g.Nodes, Meta: meta}
	off := 0
	for _, name := range names {
		t := g.Consts[name]
		h.Tensors = append(h.Tensors, tensorEntry{Name: name, Shape: t.Shape, Offset: off})
		off += len(t.Data)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("write model header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(magic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	data := make([]byte, 4*off)
	for _, te := range h.Tensors {
		for i, v := range g.Consts[te.Name].Data {
			binary.LittleEndian.PutUint32(data[4*(te.Offset+i):], math.Float32bits(v))
		}
	}
	buf.Write(data)
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// Read parses an EDNN file (the whole file in memory) and checks its digest and tensor table.
func Read(b []byte) (*Graph, map[string]string, error) {
	if len(b) < len(magic)+4+sha256.Size || string(b[:len(magic)]) != magic {
		return nil, nil, fmt.Errorf("read model: not an EDNN file")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, nil, fmt.Errorf("read model: digest mismatch (file corrupt or truncated)")
	}
	hl := int(binary.LittleEndian.Uint32(body[len(magic):]))
	rest := body[len(magic)+4:]
	if hl > len(rest) {
		return nil, nil, fmt.Errorf("read model: header length %d exceeds file", hl)
	}
	var h fileHeader
	if err := json.Unmarshal(rest[:hl], &h); err != nil {
		return nil, nil, fmt.Errorf("read model header: %w", err)
	}
	data := rest[hl:]
	if len(data)%4 != 0 {
		return nil, nil, fmt.Errorf("read model: data section of %d bytes is not float32", len(data))
	}
	total := len(data) / 4
	g := &Graph{Inputs: h.Inputs, Outputs: h.Outputs, Nodes: h.Nodes, Consts: map[string]*Tensor{}}
	for _, te := range h.Tensors {
		n := 1
		for _, d := range te.Shape {
			if d < 0 || (d > 0 && n > maxElements/d) {
				return nil, nil, fmt.Errorf("read model: tensor %q: bad shape", te.Name)
			}
			n *= d
		}
		if te.Offset < 0 || te.Offset > total || n > total-te.Offset {
			return nil, nil, fmt.Errorf("read model: tensor %q lies outside the data", te.Name)
		}
		if _, dup := g.Consts[te.Name]; dup {
			return nil, nil, fmt.Errorf("read model: tensor %q twice", te.Name)
		}
		t := &Tensor{Shape: append([]int{}, te.Shape...), Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(te.Offset+i):]))
		}
		g.Consts[te.Name] = t
	}
	return g, h.Meta, nil
}

// ReadFile reads and compiles an EDNN model file.
func ReadFile(path string) (*Model, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read model: %w", err)
	}
	g, meta, err := Read(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := g.Compile()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, meta, nil
}
