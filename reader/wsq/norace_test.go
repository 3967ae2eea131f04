//go:build !race

package wsq

const raceFingers = 0 // every finger
