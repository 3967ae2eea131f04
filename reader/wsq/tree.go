package wsq

// rect is a region of the coefficient plane.
type rect struct{ x, y, w, h int }

func (r rect) area() int { return r.w * r.h }

const (
	numNodes    = 20 // nodes of the decomposition tree (each split once into four)
	numSubbands = 60 // subbands that are quantised and coded
	maxSubbands = 64 // subbands in the DQT (60–63 are never coded)
	block2Start = 19 // first subband of block 2
	block3Start = 52 // first subband of block 3
)

// Spectral inversion of the decomposition nodes (the specification's tree, as the FBI's
// reference encoder lists it): on an inverted node the high-pass half of the horizontal (row) or
// vertical (column) split comes first.
var (
	invRow = [numNodes]bool{2: true, 4: true, 7: true, 9: true, 11: true, 13: true, 16: true, 18: true}
	invCol = [numNodes]bool{3: true, 5: true, 8: true, 9: true, 12: true, 13: true, 17: true, 18: true}
)

// split divides r into the four quarters one 2-D analysis step produces, in storage order
// (first row half × first column half, second × first, first × second, second × second). The
// low-pass half of an odd length is the longer one; on an inverted axis the high-pass half comes
// first.
func split(r rect, invR, invC bool) [4]rect {
	w1 := (r.w + 1) / 2
	if invR {
		w1 = r.w / 2
	}
	h1 := (r.h + 1) / 2
	if invC {
		h1 = r.h / 2
	}
	return [4]rect{
		{r.x, r.y, w1, h1},
		{r.x + w1, r.y, r.w - w1, h1},
		{r.x, r.y + h1, w1, r.h - h1},
		{r.x + w1, r.y + h1, r.w - w1, r.h - h1},
	}
}

// tree is the decomposition of a width × height image: the 20 nodes in the order they are
// split, and the rectangles of the 64 subbands.
type tree struct {
	node [numNodes]rect
	sub  [maxSubbands]rect
}

// newTree builds the specification's decomposition: the image splits into four; its low-pass
// quarter (node 1) splits into four; of those, the low-pass quarter (node 14) splits into four,
// each of which splits again, node 15's low-pass quarter (node 19) once more (subbands 0–18); the
// other two (nodes 4, 5) split into four and each quarter again (subbands 19–50); node 1's
// diagonal quarter is subband 51; the image's first-level horizontal and vertical detail
// quarters (nodes 2, 3) split once (subbands 52–59).
func newTree(w, h int) *tree {
	t := &tree{}
	t.node[0] = rect{0, 0, w, h}
	q := func(n int) [4]rect { return split(t.node[n], invRow[n], invCol[n]) }
	q0 := q(0)
	t.node[1], t.node[2], t.node[3] = q0[0], q0[1], q0[2]
	q1 := q(1)
	t.node[14], t.node[4], t.node[5] = q1[0], q1[1], q1[2]
	t.sub[51] = q1[3]
	q4, q5, q14 := q(4), q(5), q(14)
	copy(t.node[6:10], q4[:])
	copy(t.node[10:14], q5[:])
	copy(t.node[15:19], q14[:])
	q15 := q(15)
	t.node[19] = q15[0]
	t.sub[4], t.sub[5], t.sub[6] = q15[1], q15[2], q15[3]
	put := func(first, n int) {
		s := q(n)
		copy(t.sub[first:first+4], s[:])
	}
	put(0, 19)
	put(7, 16)
	put(11, 17)
	put(15, 18)
	for i := 0; i < 8; i++ { // nodes 6–13 → subbands 19–50
		put(19+4*i, 6+i)
	}
	put(52, 2)
	put(56, 3)
	return t
}
