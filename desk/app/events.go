package app

import "sync"

// Emitter pushes one named event to the window. main.go adapts Wails' runtime.EventsEmit to it;
// Bridge adapts Server-Sent Events. Services receive an Emitter and never import the runtime.
type Emitter interface {
	Emit(name string, data any)
}

// EmitterFunc adapts a function to Emitter.
type EmitterFunc func(name string, data any)

// Emit calls f.
func (f EmitterFunc) Emit(name string, data any) { f(name, data) }

// Event names the frontend subscribes to.
const (
	EventSession = "session:changed" // data: SessionState
	EventCard    = "enroll:card"     // data: CardProgress
	EventDevices = "devices:changed" // data: []DeviceStatus
	EventQueue   = "queue:changed"   // data: QueueStatus
	EventFinger  = "enroll:finger"   // data: FingerPrompt
	EventFace    = "enroll:face"     // data: FacePrompt
	// EventFacePreview is the camera's live preview during a face capture (preview.go).
	EventFacePreview = "enroll:face-preview" // data: FacePreview
)

// Hub fans events out to every attached emitter (the window, bridge clients). The zero value is
// ready; it is safe for concurrent use.
type Hub struct {
	mu    sync.Mutex
	next  int
	sinks map[int]Emitter
}

// Attach adds an emitter and returns the function that detaches it.
func (h *Hub) Attach(e Emitter) (detach func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sinks == nil {
		h.sinks = map[int]Emitter{}
	}
	id := h.next
	h.next++
	h.sinks[id] = e
	return func() {
		h.mu.Lock()
		delete(h.sinks, id)
		h.mu.Unlock()
	}
}

// Emit sends the event to every attached emitter.
func (h *Hub) Emit(name string, data any) {
	h.mu.Lock()
	sinks := make([]Emitter, 0, len(h.sinks))
	for _, s := range h.sinks {
		sinks = append(sinks, s)
	}
	h.mu.Unlock()
	for _, s := range sinks {
		s.Emit(name, data)
	}
}

// FingerPrompt is the EventFinger payload: which finger to place, the attempt, and why the last
// impression was refused ("" on the first).
type FingerPrompt struct {
	Position int    `json:"position"`
	Attempt  int    `json:"attempt"`
	Reason   string `json:"reason,omitempty"`
}

// FingerPrompter returns a SensorFinger.Prompt that emits EventFinger on the hub.
func FingerPrompter(h *Hub) func(position, attempt int, reason string) {
	return func(position, attempt int, reason string) {
		h.Emit(EventFinger, FingerPrompt{Position: position, Attempt: attempt, Reason: reason})
	}
}

// Face capture phases (FacePrompt.Phase).
const (
	FacePhaseLiveness = "liveness" // the citizen follows the challenge's steps in front of the camera
	FacePhaseDone     = "done"     // the capture ended (its outcome comes with the call's answer)
)

// FacePrompt is the EventFace payload: what the window asks the citizen to do while the camera
// captures. Steps are the liveness challenge's head turns in order ("left", "right": the
// citizen's own left and right, biometric/face/liveness); Step is the one being asked
// (len(Steps): look straight again for the photo burst), or -1 when the capturer does not report
// its progress (the window then shows the whole sequence).
type FacePrompt struct {
	Phase string   `json:"phase"`
	Steps []string `json:"steps,omitempty"`
	Step  int      `json:"step"`
}

// LivenessTeller is the optional side of a FaceCapturer that names its liveness challenge's
// steps; a capturer without it runs liveness.Default().
type LivenessTeller interface {
	LivenessSteps() []string
}

// FacePrompter returns a function a FaceCapturer may call as its liveness challenge progresses
// (the step it now waits for); it emits EventFace on the hub, as FingerPrompter does for the
// sensor. desk.Enrollment itself emits the challenge at the start and "done" at the end.
func FacePrompter(h *Hub) func(steps []string, step int) {
	return func(steps []string, step int) {
		h.Emit(EventFace, FacePrompt{Phase: FacePhaseLiveness, Steps: steps, Step: step})
	}
}
