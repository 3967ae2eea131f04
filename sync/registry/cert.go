package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"enrolldesk/sync/protocol"
)

// DefaultDeskCertValidity is how long a desk certificate lasts unless Server.DeskCertValidity
// says otherwise. Certificates are short-lived so that a stolen desk key stops working at the TLS
// layer soon even without revocation; a desk renews when a third of the lifetime is left
// (hqsync.Renewer), so it survives ten days offline before the operator has to re-provision it.
const DefaultDeskCertValidity = 30 * 24 * time.Hour

func (s *Server) deskCertValidity() time.Duration {
	if s.DeskCertValidity > 0 {
		return s.DeskCertValidity
	}
	return DefaultDeskCertValidity
}

// revokedRefusal is the refusal for a revoked desk, with the operator's reason.
func revokedRefusal(d Desk) *protocol.Refusal {
	return &protocol.Refusal{Reason: protocol.ReasonRevoked,
		Detail: fmt.Sprintf("desk %s revoked on %s: %s", d.ID, d.Revoked.UTC().Format(time.RFC3339), d.RevokeReason)}
}

// gate refuses every request that comes with the certificate of a revoked desk, whatever the
// endpoint (batches, head, audit, bundles, renewal), with the revocation reason. The TLS layer
// has already checked the certificate's chain and validity period.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := clientDesk(r)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.Store.Desk(r.Context(), id)
		switch {
		case errors.Is(err, ErrUnknownDesk):
			s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonUnknownDesk}, id)
		case err != nil:
			s.log().Error("read desk", "desk", id, "err", err)
			s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		case !d.Revoked.IsZero():
			s.refuse(w, r, http.StatusForbidden, revokedRefusal(d), id)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// handleRenew issues a fresh certificate to a desk that presents its current, valid one: the body
// is a PKCS#10 request (RFC 2986) for the desk's registered Ed25519 key, self-signed by that key
// (proof of possession), with CN = desk id. A desk keeps its key: a request for another key is
// refused (re-keying is re-provisioning, with an operator token).
func (s *Server) handleRenew(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if cd := clientDesk(r); cd == "" || cd != id {
		s.refuse(w, r, http.StatusForbidden, &protocol.Refusal{Reason: protocol.ReasonDeskMismatch, Detail: "renewal needs the desk's own client certificate"}, id)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		s.refuse(w, r, http.StatusRequestEntityTooLarge, &protocol.Refusal{Reason: protocol.ReasonTooLarge}, id)
		return
	}
	desk, err := s.Store.Desk(r.Context(), id)
	if err != nil {
		s.log().Error("renew: read desk", "desk", id, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return
	}
	if !desk.Revoked.IsZero() { // the gate has checked too; a revocation may have landed since
		s.refuse(w, r, http.StatusForbidden, revokedRefusal(desk), id)
		return
	}
	if ref := checkCSR(body, desk); ref != nil {
		s.refuse(w, r, statusFor(ref.Reason), ref, id)
		return
	}
	der, err := s.Identity.IssueDeskCert(id, desk.PublicKey, s.deskCertValidity())
	if err != nil {
		s.log().Error("renew: issue", "desk", id, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return
	}
	b, err := protocol.EncMode.Marshal(&protocol.CertRenewal{Version: protocol.Version, DeskID: id, Certificate: der, CA: s.Identity.CA.Raw})
	if err != nil {
		s.refuse(w, r, http.StatusServiceUnavailable, &protocol.Refusal{Reason: protocol.ReasonUnavailable}, id)
		return
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		s.log().Info("desk certificate renewed", "desk", id, "serial", c.SerialNumber.Text(16), "not_after", c.NotAfter.UTC())
	}
	w.Header().Set("Content-Type", protocol.MediaType)
	w.Write(b) //nolint:errcheck // the client may be gone
}

// checkCSR verifies a desk's certificate request against its registered key.
func checkCSR(der []byte, desk Desk) *protocol.Refusal {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return &protocol.Refusal{Reason: protocol.ReasonBadCSR, Detail: "not a DER PKCS#10 request"}
	}
	if err := csr.CheckSignature(); err != nil {
		return &protocol.Refusal{Reason: protocol.ReasonBadCSR, Detail: "request signature does not verify: no proof of key possession"}
	}
	pub, ok := csr.PublicKey.(ed25519.PublicKey)
	if !ok || !pub.Equal(desk.PublicKey) {
		return &protocol.Refusal{Reason: protocol.ReasonBadCSR, Detail: "request is not for the desk's registered key"}
	}
	if csr.Subject.CommonName != desk.ID {
		return &protocol.Refusal{Reason: protocol.ReasonBadCSR, Detail: "request names another desk"}
	}
	return nil
}

// RevokeDesk revokes a desk in the store: from then on every request with its certificate, every
// batch of it (online or imported) and every renewal or re-provisioning is refused with reason.
func RevokeDesk(ctx context.Context, st Store, id, reason string, at time.Time) error {
	if reason == "" {
		return errors.New("revoke desk: a reason is required")
	}
	return st.RevokeDesk(ctx, id, reason, at)
}
