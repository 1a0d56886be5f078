package neutron

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Tags (Neutron's standard-attr-tag): /v2.0/{collection}/{id}/tags and
// the tags, tags-any, not-tags and not-tags-any filters. Tags live in the
// resource's row in NB and bump its revision_number when they change.

// maxTagLen is Neutron's MAX_TAG_LEN.
const maxTagLen = 255

// TagStore is the storage of tags (implemented by *ovn.Store).
type TagStore interface {
	Tags(ctx context.Context, sc ovn.Scope, kind ovn.Resource, id string) ([]string, error)
	UpdateTags(ctx context.Context, sc ovn.Scope, kind ovn.Resource, id string, change func([]string) ([]string, error)) ([]string, error)
}

func (s *server) tagRoutes(mux *http.ServeMux) {
	for _, kind := range []ovn.Resource{ovn.Networks, ovn.Subnets, ovn.Ports} {
		base := "/v2.0/" + string(kind) + "/{id}/tags"
		mux.HandleFunc("GET "+base, s.authed(s.tagHandler(kind, s.listTags)))
		mux.HandleFunc("PUT "+base, s.authed(s.tagHandler(kind, s.replaceTags)))
		mux.HandleFunc("DELETE "+base, s.authed(s.tagHandler(kind, s.clearTags)))
		mux.HandleFunc("GET "+base+"/{tag}", s.authed(s.tagHandler(kind, s.showTag)))
		mux.HandleFunc("PUT "+base+"/{tag}", s.authed(s.tagHandler(kind, s.addTag)))
		mux.HandleFunc("DELETE "+base+"/{tag}", s.authed(s.tagHandler(kind, s.deleteTag)))
	}
}

type tagFunc func(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string)

func (s *server) tagHandler(kind ovn.Resource, f tagFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		if s.tags == nil {
			writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found: "+r.URL.Path)
			return
		}
		if t := r.PathValue("tag"); t != "" || strings.HasSuffix(r.URL.Path, "/tags/") {
			if err := validTag(t); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		f(w, r, scope(c), kind, r.PathValue("id"))
	}
}

func validTag(t string) error {
	if !utf8.ValidString(t) || len(t) > maxTagLen {
		return invalid("'%s' exceeds maximum length of %d", t, maxTagLen)
	}
	return nil
}

// tagList validates a list of tags: unique strings of at most 255
// characters.
func tagList(raw json.RawMessage) ([]string, error) {
	var tags []string
	if err := json.Unmarshal(raw, &tags); err != nil || tags == nil {
		return nil, invalid("'%s' is not a list of strings", raw)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if err := validTag(t); err != nil {
			return nil, err
		}
		if seen[t] {
			return nil, invalid("Duplicate items in the list: '%s'", t)
		}
		seen[t] = true
	}
	return tags, nil
}

func (s *server) listTags(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	tags, err := s.tags.Tags(r.Context(), sc, kind, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tags": nonNilTags(tags)})
}

func (s *server) showTag(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	tags, err := s.tags.Tags(r.Context(), sc, kind, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if t := r.PathValue("tag"); !slices.Contains(tags, t) {
		writeError(w, http.StatusNotFound, "TagNotFound", "Tag "+t+" could not be found.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) replaceTags(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["tags"] == nil {
		s.fail(w, r, invalid("Invalid tags body"))
		return
	}
	tags, err := tagList(body["tags"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.tags.UpdateTags(r.Context(), sc, kind, id, func([]string) ([]string, error) { return tags, nil }); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tags": tags})
}

func (s *server) clearTags(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	if _, err := s.tags.UpdateTags(r.Context(), sc, kind, id, func([]string) ([]string, error) { return []string{}, nil }); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) addTag(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	t := r.PathValue("tag")
	_, err := s.tags.UpdateTags(r.Context(), sc, kind, id, func(cur []string) ([]string, error) {
		if slices.Contains(cur, t) {
			return cur, nil
		}
		return append(cur, t), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Neutron answers 201 with the controller's empty result.
	writeJSON(w, http.StatusCreated, nil)
}

func (s *server) deleteTag(w http.ResponseWriter, r *http.Request, sc ovn.Scope, kind ovn.Resource, id string) {
	t := r.PathValue("tag")
	_, err := s.tags.UpdateTags(r.Context(), sc, kind, id, func(cur []string) ([]string, error) {
		i := slices.Index(cur, t)
		if i < 0 {
			return nil, &ovn.Error{Kind: ovn.ErrNotFound, Type: "TagNotFound", Message: "Tag " + t + " could not be found."}
		}
		return slices.Delete(cur, i, i+1), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

// tagFilters are the list filters on tags; each value may hold several
// comma-separated tags, and repeated values add to them.
var tagFilters = map[string]bool{"tags": true, "tags-any": true, "not-tags": true, "not-tags-any": true}

// matchTags applies one tag filter to o: tags (all of them), tags-any
// (at least one), not-tags (not all of them), not-tags-any (none).
func matchTags(o obj, filter string, values []string) bool {
	have, _ := o["tags"].([]string)
	var want []string
	for _, v := range values {
		want = append(want, strings.Split(v, ",")...)
	}
	all := func() bool {
		for _, t := range want {
			if !slices.Contains(have, t) {
				return false
			}
		}
		return true
	}
	anyOf := slices.ContainsFunc(want, func(t string) bool { return slices.Contains(have, t) })
	switch filter {
	case "tags":
		return all()
	case "tags-any":
		return anyOf
	case "not-tags":
		return !all()
	default:
		return !anyOf
	}
}
