package neutron

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// obj is a resource as the API shows it.
type obj = map[string]any

// Query parameters that are not attribute filters.
var listControls = map[string]bool{
	"fields": true, "limit": true, "marker": true, "sort_key": true,
	"sort_dir": true, "page_reverse": true,
}

// matches reports whether o passes every attribute filter of q. Several
// values of one filter are alternatives (Neutron's "OR"); filters on
// attributes the resource does not have are ignored.
func matches(o obj, q url.Values) bool {
	for k, want := range q {
		if listControls[k] {
			continue
		}
		if tagFilters[k] {
			if !matchTags(o, k, want) {
				return false
			}
			continue
		}
		if k == "fixed_ips" {
			if !matchFixedIPs(o["fixed_ips"], want) {
				return false
			}
			continue
		}
		have, ok := o[k]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(want, func(w string) bool { return valueMatches(have, w) }) {
			return false
		}
	}
	return true
}

func valueMatches(have any, w string) bool {
	switch h := have.(type) {
	case string:
		return h == w
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(w))
		return err == nil && b == h
	case int:
		return strconv.Itoa(h) == w
	case int64:
		return strconv.FormatInt(h, 10) == w
	case []string:
		return slices.Contains(h, w)
	case nil:
		return w == "" || w == "None"
	}
	return fmt.Sprint(have) == w
}

// matchFixedIPs handles fixed_ips=ip_address=X and fixed_ips=subnet_id=Y.
func matchFixedIPs(have any, want []string) bool {
	ips, _ := have.([]fixedIPJSON)
	for _, w := range want {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		for _, ip := range ips {
			if (k == "ip_address" && ip.IPAddress == v) || (k == "subnet_id" && ip.SubnetID == v) {
				return true
			}
		}
	}
	return false
}

// fieldsOf returns the requested fields (repeated or comma-separated).
func fieldsOf(q url.Values) []string {
	var out []string
	for _, f := range q["fields"] {
		for _, x := range strings.Split(f, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func project(o obj, fields []string) obj {
	if len(fields) == 0 {
		return o
	}
	out := obj{}
	for _, f := range fields {
		if v, ok := o[f]; ok {
			out[f] = v
		}
	}
	return out
}

// writeList filters, sorts, pages and projects a collection.
func writeList(w http.ResponseWriter, r *http.Request, collection string, all []obj) {
	q := r.URL.Query()
	items := make([]obj, 0, len(all))
	for _, o := range all {
		if matches(o, q) {
			items = append(items, o)
		}
	}
	if keys := q["sort_key"]; len(keys) > 0 {
		dirs := q["sort_dir"]
		slices.SortStableFunc(items, func(a, b obj) int {
			for i, k := range keys {
				c := compareAny(a[k], b[k])
				if i < len(dirs) && dirs[i] == "desc" {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if m := q.Get("marker"); m != "" {
		if i := slices.IndexFunc(items, func(o obj) bool { return o["id"] == m }); i >= 0 {
			items = items[i+1:]
		}
	}
	body := map[string]any{}
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && len(items) > l {
		items = items[:l]
		next := *r.URL
		nq := next.Query()
		nq.Set("marker", fmt.Sprint(items[l-1]["id"]))
		next.RawQuery = nq.Encode()
		body[collection+"_links"] = []map[string]string{{"rel": "next", "href": baseURL(r) + next.RequestURI()}}
	}
	fields := fieldsOf(q)
	out := make([]obj, len(items))
	for i, o := range items {
		out[i] = project(o, fields)
	}
	body[collection] = out
	writeJSON(w, http.StatusOK, body)
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return cmp.Compare(x, y)
	case int:
		y, _ := b.(int)
		return cmp.Compare(x, y)
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	}
	return 0
}

// writeOne answers a single resource, honouring fields.
func writeOne(w http.ResponseWriter, r *http.Request, status int, resource string, o obj) {
	writeJSON(w, status, map[string]obj{resource: project(o, fieldsOf(r.URL.Query()))})
}

// baseURL is scheme://host of the request, for links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
