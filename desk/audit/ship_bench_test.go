package audit_test

import (
	"context"
	"testing"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/opstest"
)

// BenchmarkAuditShip1000: one op ships 1,000 new audit entries (two batches of 500) to the real
// registry handler over loopback HTTP, each checked and chained there against its SQLite store.
func BenchmarkAuditShip1000(b *testing.B) {
	ctx := context.Background()
	e := newShipEnvB(b)
	if _, err := e.ship.Ship(ctx); err != nil {
		b.Fatal(err)
	}
	e.ship.Batch = 500
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < 1000; j++ {
			if _, err := e.Audit.Append(ctx, audit.Entry{Actor: opstest.Officer, Action: "record.release", Subject: "x"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := e.ship.Ship(ctx)
		if err != nil || res.Sent != 1000 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "entries/s")
}
