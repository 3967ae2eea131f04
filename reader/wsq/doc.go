// Package wsq decodes and encodes WSQ grey-scale fingerprint images: the FBI's "WSQ Gray-scale
// Fingerprint Image Compression Specification" (IAFIS-IC-0110, version 3.1), the compression that
// ISO/IEC 19794-4 finger image records (and so ICAO DG3) name with code 2.
//
// The codec is the specification's, in pure Go (no cgo):
//
//   - markers and tables (§3 of the specification, the JPEG-like syntax): SOI, SOF (frame header:
//     size, shift M and scale R), DTT (transform table: the analysis filter taps, stored as half
//     filters with sign and decimal exponent), DQT (bin widths Q and zero-bin widths Z of the 64
//     subbands, bin centre C), DHT (Huffman tables: 16 code-length counts and the values), SOB
//     (a block of entropy-coded coefficients and the table it uses), DRT (restart interval), COM
//     (comments, the NISTCOM record among them), EOI;
//   - the Huffman coding of coefficient runs (the specification's table of categories: 1–100 zero
//     runs, 101/102 8-bit positive/negative escapes, 103/104 16-bit escapes, 105/106 8-/16-bit zero
//     runs, 107–254 the coefficients −73…+74 as category − 180), with 0xFF00 byte stuffing;
//   - dequantisation with the bin widths, zero bins and bin centre (§ "Quantization": a coefficient
//     p ≠ 0 is (p − C)·Q + Z/2 for p > 0, (p + C)·Q − Z/2 for p < 0);
//   - the 64-subband decomposition (the specification's 20-node tree of 2-D splits with spectral
//     inversion on given nodes; subbands 60–63, the first level's diagonal band, are never coded),
//     undone with the synthesis filters derived from the DTT's symmetric odd-length (9/7) analysis
//     filters by modulation, with whole-sample symmetric extension at the edges;
//   - the final shift and scale to 8-bit pixels (pixel = round(R·y + M), clamped to 0…255).
//
// The encoder follows the specification's encoder side: the same decomposition with the 9/7
// filters, subband variances over the central window, the bit-allocation iteration for the target
// bit rate (0.75 bit per pixel by default, the FBI's setting for 500 ppi prints), zero bin 1.2·Q,
// bin centre 0.44, one Huffman table for block 1 (subbands 0–18) and one for blocks 2 and 3
// (19–51, 52–59) built as in JPEG annex K.
//
// What is proven here and what is not: the tests encode every FVC print in ../shared/testdata and
// decode it again (PSNR, and the finger matcher's genuine scores before and after), check the
// perfect-reconstruction property of the filter bank, and fuzz the decoder. Conformance to the FBI
// reference decoder is NOT proven: there are no NIST/FBI reference WSQ files with reference
// decodings on this machine, so a WSQ file from another encoder is decoded by this package's
// reading of the specification, untested against the certified implementations. Even-length
// filter banks (allowed by the DTT syntax) are refused.
package wsq
