//go:build !race

package opcheck

const raceEnabled = false
