// Package app is the desk's Wails-bound API: a few small services whose exported methods the
// window calls, each returning one Response envelope, and events pushed to the window through one
// Emitter shim so that nothing below this package imports the webview runtime. The same structs
// are served over HTTP by Bridge for the browser end-to-end suite.
package app

import (
	"errors"
	"log/slog"
)

// Response is the one envelope every bound method returns. The frontend branches on OK and, when
// it is false, on Error.Code; it never parses Error.Message (English, for support logs only).
type Response struct {
	OK    bool   `json:"ok"`
	Data  any    `json:"data,omitempty"`
	Error *Fault `json:"error,omitempty"`
}

// Fault is a failure the officer can act on. Code picks the translated message in the UI;
// Params fills its placeholders (never personal or biometric data).
type Fault struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Params  map[string]string `json:"params,omitempty"`
}

// Error codes the frontend translates (frontend/src/i18n.ts keeps one string per code and language).
const (
	CodeInvalid         = "invalid"         // the request itself is wrong (a field, a format)
	CodeWrongPIN        = "wrong_pin"       // officer id or PIN does not match
	CodeLocked          = "locked"          // too many wrong PINs; Params["until"] is RFC 3339
	CodeUnauthorized    = "unauthorized"    // no officer logged in
	CodeForbidden       = "forbidden"       // the officer's role may not do this
	CodeNotProvisioned  = "not_provisioned" // the desk has no identity yet
	CodeProvisioned     = "already_provisioned"
	CodeDeviceMissing   = "device_missing" // reader, camera or sensor not reachable
	CodeUnavailable     = "unavailable"    // a feature whose backend is not wired in this build
	CodeConflict        = "conflict"       // wrong step of the enrollment workflow
	CodeDeskLocked      = "desk_locked"    // the desk keys are not unlocked with the passphrase yet
	CodeWrongPassphrase = "wrong_passphrase"
	CodeFingerRetry     = "finger_retry" // the impressions were poor or inconsistent: place the finger again
	CodeTimeout         = "timeout"      // a device stopped answering; Params["device"] names it
	CodeInternal        = "internal"
)

// CodedError carries a Fault code through the layers below the bound methods.
type CodedError struct {
	Code   string
	Params map[string]string
	Err    error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// coded wraps err with a fault code.
func coded(code string, err error, params map[string]string) error {
	return &CodedError{Code: code, Params: params, Err: err}
}

func ok(data any) Response { return Response{OK: true, Data: data} }

// fail turns an error into the envelope. Errors without a code are internal: the message is
// logged (it names no person: the layers below never put personal data in errors) and the
// officer sees a generic message with what to do next.
func fail(op string, err error) Response {
	var ce *CodedError
	if errors.As(err, &ce) {
		return Response{Error: &Fault{Code: ce.Code, Message: err.Error(), Params: ce.Params}}
	}
	slog.Error("bound call failed", "op", op, "err", err)
	return Response{Error: &Fault{Code: CodeInternal, Message: err.Error()}}
}
