// Package gui checks the built desk window as a user meets it: the real binary, started under
// Xvfb, must draw its login screen in Vietnamese (read back by OCR) within the cold-start budget.
// It holds only tests and the BenchmarkColdStart budget benchmark (DESIGN.md); the window itself
// is the repository root's main.go over desk/app.
package gui
