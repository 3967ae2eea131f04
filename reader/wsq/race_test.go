//go:build race

package wsq

// Under the race detector (CI) the FVC tests take the first finger of each set (8 prints): the
// instrumented float loops are ~10× slower. The full sets run without it and in BenchmarkWSQFVC.
const raceFingers = 1
