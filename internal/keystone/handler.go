package keystone

import (
	"errors"
	"net/http"
)

// Handler serves the Keystone v3 subset. Mount it at "/v3" and "/v3/"
// without stripping the prefix.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3", s.handleVersion)
	mux.HandleFunc("GET /v3/{$}", s.handleVersion)
	mux.HandleFunc("POST /v3/auth/tokens", s.handleIssue)
	// GET patterns also match HEAD.
	mux.HandleFunc("GET /v3/auth/tokens", s.handleValidate)
	mux.HandleFunc("DELETE /v3/auth/tokens", s.handleRevoke)
	mux.HandleFunc("/v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not supported here; allowed: GET, HEAD, POST, DELETE.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The resource could not be found: this server implements only /v3 and /v3/auth/tokens of the Identity API.")
	})
	return mux
}

type versionBody struct {
	Version versionDoc `json:"version"`
}

type versionDoc struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Updated    string      `json:"updated"`
	Links      []link      `json:"links"`
	MediaTypes []mediaType `json:"media-types"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

func (s *Service) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, versionBody{Version: versionDoc{
		ID:      "v3.14",
		Status:  "stable",
		Updated: "2020-04-07T00:00:00Z",
		Links:   []link{{Rel: "self", Href: s.baseURL(r) + "/v3/"}},
		MediaTypes: []mediaType{{
			Base: "application/json",
			Type: "application/vnd.openstack.identity-v3+json",
		}},
	}})
}

// handleValidate serves GET and HEAD /v3/auth/tokens: the caller's
// X-Auth-Token authorises looking at X-Subject-Token.
func (s *Service) handleValidate(w http.ResponseWriter, r *http.Request) {
	caller, err := s.Authenticate(r)
	if err != nil {
		s.log.Info("token validation refused", "remote", r.RemoteAddr, "reason", err.Error())
		writeUnauthorized(w, s.baseURL(r))
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	if subject == "" {
		writeError(w, http.StatusBadRequest, "The X-Subject-Token header is required: it names the token to validate.")
		return
	}
	p, tp, err := s.validate(subject)
	if err != nil {
		if !errors.Is(err, ErrUnauthorized) {
			writeError(w, http.StatusInternalServerError, "Internal error.")
			return
		}
		s.log.Debug("subject token invalid", "reason", err.Error())
		writeError(w, http.StatusNotFound, "Could not find token.")
		return
	}
	if !caller.IsAdmin() && caller.UserID != p.UserID {
		writeError(w, http.StatusForbidden, "You are not authorized to validate tokens of other users.")
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	writeJSON(w, http.StatusOK, s.tokenDocument(r, p, tp))
}

// handleRevoke serves DELETE /v3/auth/tokens: revokes X-Subject-Token.
// A user may revoke its own tokens, an admin anyone's (Keystone's
// identity:revoke_token policy).
func (s *Service) handleRevoke(w http.ResponseWriter, r *http.Request) {
	caller, err := s.Authenticate(r)
	if err != nil {
		s.log.Info("token revocation refused", "remote", r.RemoteAddr, "reason", err.Error())
		writeUnauthorized(w, s.baseURL(r))
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	if subject == "" {
		writeError(w, http.StatusBadRequest, "The X-Subject-Token header is required: it names the token to revoke.")
		return
	}
	p, tp, err := s.validate(subject)
	if err != nil {
		writeError(w, http.StatusNotFound, "Could not find token.")
		return
	}
	if !caller.IsAdmin() && caller.UserID != p.UserID {
		writeError(w, http.StatusForbidden, "You are not authorized to revoke tokens of other users.")
		return
	}
	if err := s.revoked.RevokeToken(r.Context(), tp.auditID(), tp.expires()); err != nil {
		s.log.Error("token revocation failed", "audit_id", tp.auditID(), "err", err)
		writeError(w, http.StatusServiceUnavailable, "The token could not be revoked right now; try again.")
		return
	}
	s.log.Info("token revoked", "user_id", p.UserID, "audit_id", tp.auditID(), "by", caller.UserID)
	w.WriteHeader(http.StatusNoContent)
}

func writeUnauthorized(w http.ResponseWriter, base string) {
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+base+`/v3"`)
	writeError(w, http.StatusUnauthorized, unauthorizedMessage)
}
