package index

// The committed image-derived test gallery, testdata/imgfingers.bin (fpcache format, ~1.5 MB):
// templates that biometric/finger.Extract made from biometric/finger/synth images (seed
// fpcache.Seed): impressions 1–3 of fingers 0–199 (the probes and their mates) and impression 1
// of fingers 200–2399. Regenerated at commit d2b9de1 (the extractor of bca714d: coherence-aware
// mask, 6 px border band; compact v2 templates with the orientation field) in ~18 min on two
// shared cores; regenerate after the extractor changes (delete the file first: fpgen only adds
// what is missing):
//
//go:generate go run ./internal/fpgen -out testdata/imgfingers.bin -fingers 200 -impressions 3
//go:generate go run ./internal/fpgen -out testdata/imgfingers.bin -fingers 2400 -impressions 1
