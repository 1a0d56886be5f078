package keystone

import "net/http"

// Middleware lets through requests with a valid X-Auth-Token, with the
// Principal in their context; others get 401 with Keystone's error body.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		if err != nil {
			s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
			writeUnauthorized(w, s.baseURL(r))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
