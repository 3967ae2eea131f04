// Package face is the desk's face pipeline on real devices and models: camera capture with gocv,
// face detection, landmarks and 128-d descriptors with dlib through go-face (a pool of
// Recognizers, one per core), the ICAO quality gate, liveness evidence from landmark tracks, the
// 1:1 decision against the chip photo, and the token portrait for the issuance record.
//
// This is the only cgo package of the face feature. The pure-Go parts live in subpackages so they
// test with CGO_ENABLED=0: modelset (model files and their sha256), embedding (the Embedder seam
// for other engines), match (calibrated 1:1 decision, FMR/FNMR), quality (the gate's measures),
// liveness (challenge and parallax checks on landmark tracks) and portrait (ISO/IEC 19794-5 token
// image).
//
// go-face pitfalls handled here (see ../shared/DESIGN.md): one Recognizer serialises its calls, so
// Engine keeps a pool; go-face only reads colour JPEG, so every input is decoded by OpenCV and
// re-encoded as 3-channel JPEG; HOG finds faces from about 80 px, so frames are downscaled for
// detection but never below that; Close frees the C memory. go-face compiles with -march=native:
// build release binaries on the oldest CPU class of the fleet.
package face
