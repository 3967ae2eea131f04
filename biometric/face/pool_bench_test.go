package face

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// BenchmarkFaceDescriptorsPool measures descriptors per second for a pool of 1 and of 2
// Recognizers, with two goroutines asking at once (one Recognizer serialises its calls).
func BenchmarkFaceDescriptorsPool(b *testing.B) {
	photo := gocv.IMRead(faces("lfw", "Hans_Blix", "Hans_Blix_0003.jpg"), gocv.IMReadColor)
	if photo.Empty() {
		b.Fatal("test photo missing")
	}
	defer photo.Close()
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("recognizers=%d", n), func(b *testing.B) {
			e, err := NewEngine(modelsDir(), Options{Recognizers: n})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			b.SetParallelism(1) // GOMAXPROCS goroutines
			var descriptors atomic.Int64
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				m := photo.Clone()
				defer m.Close()
				for pb.Next() {
					a, err := e.AnalyzePhoto(context.Background(), m)
					if err != nil || len(a.Faces) == 0 {
						b.Errorf("faces %d err %v", len(a.Faces), err)
						return
					}
					descriptors.Add(int64(len(a.Faces)))
				}
			})
			b.ReportMetric(float64(descriptors.Load())/time.Since(start).Seconds(), "descriptors/s")
		})
	}
}
