package keystone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxAuthBody bounds POST /v3/auth/tokens bodies.
const maxAuthBody = 64 << 10

type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *userReq `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		// Scope is an object, or the string "unscoped".
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type userReq struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Domain   *domainReq `json:"domain"`
	Password *string    `json:"password"`
}

type domainReq struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type scopeReq struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainReq `json:"domain"`
	} `json:"project"`
	Domain  json.RawMessage `json:"domain"`
	System  json.RawMessage `json:"system"`
	OSTrust json.RawMessage `json:"OS-TRUST:trust"`
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

// issued is a freshly signed token and what it stands for.
type issued struct {
	token     string
	principal Principal
	payload   tokenPayload
}

// handleIssue serves POST /v3/auth/tokens.
func (s *Service) handleIssue(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAuthBody))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "The request body is not valid JSON: expecting {\"auth\": {\"identity\": ...}}.")
		return
	}
	iss, err := s.issue(req)
	var throttled *throttledError
	switch {
	case errors.Is(err, errBadRequest):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
		return
	case errors.As(err, &throttled):
		s.log.Warn("login throttled after repeated failures", "remote", r.RemoteAddr, "retry_after", throttled.retryAfter.String())
		w.Header().Set("Retry-After", strconv.Itoa(throttled.retryAfterSeconds()))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"Too many failed logins for this user; retry in %d seconds.", throttled.retryAfterSeconds()))
		return
	case errors.Is(err, ErrUnauthorized):
		s.log.Info("authentication failed", "remote", r.RemoteAddr, "reason", err.Error())
		writeUnauthorized(w, s.baseURL(r))
		return
	case err != nil:
		s.log.Error("token issue failed", "err", err)
		writeError(w, http.StatusInternalServerError, "The server could not issue a token; see its log.")
		return
	}
	s.log.Info("token issued", "user_id", iss.principal.UserID, "project_id", iss.principal.ProjectID,
		"methods", iss.payload.Methods, "audit_id", iss.payload.auditID())
	w.Header().Set("X-Subject-Token", iss.token)
	writeJSON(w, http.StatusCreated, s.tokenDocument(r, iss.principal, iss.payload))
}

// issue authenticates req and signs a token. Client errors wrap
// errBadRequest, refusals wrap ErrUnauthorized; anything else is the
// server's fault.
func (s *Service) issue(req authRequest) (issued, error) {
	if req.Auth == nil || req.Auth.Identity == nil {
		return issued{}, badRequest("expecting to find auth.identity in the request body")
	}
	id := req.Auth.Identity
	if len(id.Methods) != 1 {
		return issued{}, badRequest("auth.identity.methods must name exactly one method: %q or %q", "password", "token")
	}
	scope, err := parseScope(req.Auth.Scope)
	if err != nil {
		return issued{}, err
	}
	now := s.now()
	switch id.Methods[0] {
	case "password":
		if id.Password == nil || id.Password.User == nil {
			return issued{}, badRequest("expecting to find auth.identity.password.user in the request body")
		}
		return s.issueForPassword(*id.Password.User, scope, now)
	case "token":
		if id.Token == nil || id.Token.ID == "" {
			return issued{}, badRequest("expecting to find auth.identity.token.id in the request body")
		}
		return s.issueForToken(id.Token.ID, scope, now)
	default:
		return issued{}, fmt.Errorf("%w: unsupported method %q", ErrUnauthorized, id.Methods[0])
	}
}

// parseScope returns nil for no scope (absent, null or "unscoped").
func parseScope(raw json.RawMessage) (*scopeReq, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || bytes.Equal(raw, []byte(`"unscoped"`)) {
		return nil, nil
	}
	var sc scopeReq
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, badRequest("auth.scope must be an object with a project")
	}
	if sc.Domain != nil || sc.System != nil || sc.OSTrust != nil {
		return nil, fmt.Errorf("%w: only project scope is supported", ErrUnauthorized)
	}
	if sc.Project == nil {
		return nil, nil
	}
	if sc.Project.ID == "" && sc.Project.Name == "" {
		return nil, badRequest("auth.scope.project needs an id or a name")
	}
	if sc.Project.ID == "" && (sc.Project.Domain == nil || (sc.Project.Domain.ID == "" && sc.Project.Domain.Name == "")) {
		return nil, badRequest("auth.scope.project is given by name, so it needs a domain with an id or a name")
	}
	return &sc, nil
}

func (s *Service) issueForPassword(ur userReq, scope *scopeReq, now time.Time) (issued, error) {
	if ur.Password == nil {
		return issued{}, badRequest("expecting to find auth.identity.password.user.password in the request body")
	}
	if ur.ID == "" && ur.Name == "" {
		return issued{}, badRequest("auth.identity.password.user needs an id or a name")
	}
	if ur.ID == "" && (ur.Domain == nil || (ur.Domain.ID == "" && ur.Domain.Name == "")) {
		return issued{}, badRequest("auth.identity.password.user is given by name, so it needs a domain with an id or a name")
	}
	key := s.throttleKey(ur)
	if err := s.throttle.begin(key, now); err != nil {
		return issued{}, err
	}
	u := s.lookupUser(ur)
	if u == nil {
		// Spend the same time as for a known user.
		s.dummyHash.verify(*ur.Password)
		s.throttle.done(key, false, s.now())
		return issued{}, fmt.Errorf("%w: unknown user", ErrUnauthorized)
	}
	if !s.verified.verify(u, *ur.Password) {
		s.throttle.done(key, false, s.now())
		return issued{}, fmt.Errorf("%w: wrong password for user %q", ErrUnauthorized, u.ID)
	}
	s.throttle.done(key, true, s.now())
	projectID, err := s.scopeProject(u, scope)
	if err != nil {
		return issued{}, err
	}
	return s.sign(u.ID, projectID, []string{"password"}, now, now.Add(s.ttl))
}

func (s *Service) issueForToken(token string, scope *scopeReq, now time.Time) (issued, error) {
	orig, tp, err := s.validate(token)
	if err != nil {
		return issued{}, err
	}
	projectID := orig.ProjectID
	if scope != nil {
		if projectID, err = s.scopeProject(s.identity.users[orig.UserID], scope); err != nil {
			return issued{}, err
		}
	}
	// A token never outlives the one it was made from.
	expires := now.Add(s.ttl)
	if limit := tp.expires(); limit.Before(expires) {
		expires = limit
	}
	methods := slices.Clone(tp.Methods)
	if !slices.Contains(methods, "token") {
		methods = append(methods, "token")
	}
	return s.sign(orig.UserID, projectID, methods, now, expires)
}

// throttleKey names what failed logins are counted against: the user as
// the request names it (by id, or by name within a domain), whether or
// not it exists.
func (s *Service) throttleKey(ur userReq) string {
	if ur.ID != "" {
		return "id\x00" + ur.ID
	}
	domain := "name\x00" + ur.Domain.Name
	if d, ok := s.identity.lookupDomain(ur.Domain.ID, ur.Domain.Name); ok {
		domain = "id\x00" + d.ID
	}
	return "user\x00" + domain + "\x00" + ur.Name
}

func (s *Service) lookupUser(ur userReq) *user {
	if ur.ID != "" {
		return s.identity.users[ur.ID]
	}
	d, ok := s.identity.lookupDomain(ur.Domain.ID, ur.Domain.Name)
	if !ok {
		return nil
	}
	return s.identity.usersByName[[2]string{d.ID, ur.Name}]
}

// scopeProject picks the project the token is for: the requested one, or
// the user's only project when none is requested.
func (s *Service) scopeProject(u *user, scope *scopeReq) (string, error) {
	if scope == nil {
		if len(u.roles) != 1 {
			return "", fmt.Errorf("%w: no scope requested and user %q has roles on %d projects", ErrUnauthorized, u.ID, len(u.roles))
		}
		for id := range u.roles {
			return id, nil
		}
	}
	sp := scope.Project
	if sp.ID != "" {
		if _, ok := s.identity.projects[sp.ID]; !ok {
			return "", fmt.Errorf("%w: unknown project id in scope", ErrUnauthorized)
		}
		return sp.ID, nil
	}
	d, ok := s.identity.lookupDomain(sp.Domain.ID, sp.Domain.Name)
	if !ok {
		return "", fmt.Errorf("%w: unknown project domain in scope", ErrUnauthorized)
	}
	p, ok := s.identity.projectsByName[[2]string{d.ID, sp.Name}]
	if !ok {
		return "", fmt.Errorf("%w: unknown project name in scope", ErrUnauthorized)
	}
	return p.ID, nil
}

// sign issues a token after checking the user has a role on the project.
func (s *Service) sign(userID, projectID string, methods []string, now, expires time.Time) (issued, error) {
	p, err := s.principal(userID, projectID, expires)
	if err != nil {
		return issued{}, err
	}
	nonce, err := newNonce()
	if err != nil {
		return issued{}, err
	}
	tp := tokenPayload{
		UserID: userID, ProjectID: projectID, Roles: p.Roles, Methods: methods,
		IssuedAt: now.UnixMicro(), ExpiresAt: expires.UnixMicro(), Nonce: nonce,
	}
	// Round-trip through microseconds so the document and the principal
	// say exactly what the token says.
	p.ExpiresAt = tp.expires()
	token, err := sign(s.key, tp)
	if err != nil {
		return issued{}, err
	}
	return issued{token: token, principal: p, payload: tp}, nil
}
