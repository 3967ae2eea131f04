//go:build race

package index

// raceEnabled shrinks the heaviest equivalence tests under the race detector (which slows the
// float32 reference scan ~40×); they still run, on smaller galleries.
const raceEnabled = true
