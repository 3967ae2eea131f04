package registry

import (
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"

	"enrolldesk/sync/protocol"
)

func (s *Server) handleProvision(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		s.refuse(w, r, http.StatusRequestEntityTooLarge, &protocol.Refusal{Reason: protocol.ReasonTooLarge}, "")
		return
	}
	var req protocol.ProvisionRequest
	if err := protocol.DecMode.Unmarshal(body, &req); err != nil || req.Version != protocol.Version || req.DeskID == "" || len(req.DeskID) > 64 {
		s.refuse(w, r, http.StatusBadRequest, &protocol.Refusal{Reason: protocol.ReasonBadRequest, Detail: "not a version-1 provisioning request"}, "")
		return
	}
	if !s.Identity.checkToken(req.DeskID, req.Token) {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk, Detail: "provisioning token not valid for this desk"}, req.DeskID)
		return
	}
	if len(req.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(req.PublicKey, protocol.ProvisionProofMessage(req.DeskID, req.Token, req.PublicKey), req.Proof) {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonBadSignature, Detail: "proof of key possession fails"}, req.DeskID)
		return
	}
	if d, err := s.Store.Desk(r.Context(), req.DeskID); err == nil && !d.Revoked.IsZero() {
		s.refuse(w, r, http.StatusForbidden, revokedRefusal(d), req.DeskID)
		return
	}
	err = s.Store.RegisterDesk(r.Context(), Desk{ID: req.DeskID, PublicKey: req.PublicKey})
	if errors.Is(err, ErrDeskKey) {
		s.refuse(w, r, http.StatusConflict, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "desk id already enrolled with another key"}, req.DeskID)
		return
	}
	if err != nil {
		s.log().Error("register desk", "desk", req.DeskID, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, req.DeskID)
		return
	}
	cert, err := s.Identity.IssueDeskCert(req.DeskID, req.PublicKey, s.deskCertValidity())
	if err != nil {
		s.log().Error("issue desk certificate", "desk", req.DeskID, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, req.DeskID)
		return
	}
	resp := &protocol.ProvisionResponse{Version: protocol.Version, DeskID: req.DeskID, Certificate: cert, CA: s.Identity.CA.Raw,
		ReceiptKey: s.Identity.SigningKey.Public().(ed25519.PublicKey), SealTo: s.Identity.Seal.Recipient().String()}
	b, err := protocol.EncMode.Marshal(resp)
	if err != nil {
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, req.DeskID)
		return
	}
	s.log().Info("desk provisioned", "desk", req.DeskID)
	w.Header().Set("Content-Type", protocol.MediaType)
	w.Write(b) //nolint:errcheck // the client may be gone
}
