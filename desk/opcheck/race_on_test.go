//go:build race

package opcheck

// raceEnabled: under the race detector (about 10x slower) the FVC measurement runs on a subset
// of officers so the package stays within CI's time budget; the full set runs without -race.
const raceEnabled = true
