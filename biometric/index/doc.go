// Package index is the desk's 1:N de-duplication: in-memory galleries of enrolled face descriptors
// and finger templates, searched before an officer approves a new enrollment, persisted in the
// desk store (migrations 0200–0299) and kept in step with the registry through signed gallery
// deltas. It has no cgo dependency: descriptors and templates come in as plain values.
package index
