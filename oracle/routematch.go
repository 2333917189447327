package main

// Envoy's route matching (RouteMatch: path specifier, headers, query parameters), for the
// parts Istio's simulation leaves out. Semantics from Envoy's router config_impl.cc and
// header_utility.cc: prefix matches the whole :path (query included), path and regex match it
// with the query removed, regexes match in full, a missing header fails every matcher but an
// inverted present_match unless treat_missing_header_as_empty.

import (
	"net/url"
	"regexp"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

type request struct {
	path    string // :path, query included
	headers map[string]string
	query   url.Values
}

func newRequest(c Call) *request {
	path := c.Path
	if path == "" {
		path = "/"
	}
	method := c.Method
	if method == "" {
		method = "GET"
	}
	h := map[string]string{}
	for k, v := range c.Headers {
		h[strings.ToLower(k)] = v
	}
	h[":method"] = method
	h[":authority"] = c.Host
	h[":path"] = path
	if _, ok := h[":scheme"]; !ok {
		h[":scheme"] = "http"
	}
	q := url.Values{}
	if _, raw, ok := strings.Cut(path, "?"); ok {
		q, _ = url.ParseQuery(raw)
	}
	return &request{path: path, headers: h, query: q}
}

func fullRegex(re string, s string) bool {
	r, err := regexp.Compile("^(?:" + re + ")$")
	return err == nil && r.MatchString(s)
}

func (r *request) matches(m *route.RouteMatch) bool {
	if m == nil {
		return false
	}
	noQuery, _, _ := strings.Cut(r.path, "?")
	caseSensitive := m.GetCaseSensitive() == nil || m.GetCaseSensitive().GetValue()
	fold := func(s string) string {
		if caseSensitive {
			return s
		}
		return strings.ToLower(s)
	}
	switch p := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		if !strings.HasPrefix(fold(r.path), fold(p.Prefix)) {
			return false
		}
	case *route.RouteMatch_Path:
		if fold(noQuery) != fold(p.Path) {
			return false
		}
	case *route.RouteMatch_SafeRegex:
		if !fullRegex(p.SafeRegex.GetRegex(), noQuery) {
			return false
		}
	case *route.RouteMatch_PathSeparatedPrefix:
		pre := fold(p.PathSeparatedPrefix)
		got := fold(noQuery)
		if got != pre && !strings.HasPrefix(got, pre+"/") {
			return false
		}
	default:
		return false
	}
	for _, h := range m.GetHeaders() {
		if !r.header(h) {
			return false
		}
	}
	for _, q := range m.GetQueryParameters() {
		vals, ok := r.query[q.GetName()]
		if !ok || len(vals) == 0 {
			return false
		}
		if sm := q.GetStringMatch(); sm != nil && !stringMatch(sm, vals[0]) {
			return false
		}
	}
	return true
}

func (r *request) header(h *route.HeaderMatcher) bool {
	v, ok := r.headers[strings.ToLower(h.GetName())]
	_, isPresent := h.GetHeaderMatchSpecifier().(*route.HeaderMatcher_PresentMatch)
	if !ok && !h.GetTreatMissingHeaderAsEmpty() {
		if h.GetInvertMatch() {
			return isPresent && h.GetPresentMatch()
		}
		return isPresent && !h.GetPresentMatch()
	}
	var match bool
	switch s := h.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		match = s.PresentMatch == ok
	case *route.HeaderMatcher_StringMatch:
		match = stringMatch(s.StringMatch, v)
	case *route.HeaderMatcher_ExactMatch:
		match = v == s.ExactMatch
	case *route.HeaderMatcher_PrefixMatch:
		match = strings.HasPrefix(v, s.PrefixMatch)
	case *route.HeaderMatcher_SuffixMatch:
		match = strings.HasSuffix(v, s.SuffixMatch)
	case *route.HeaderMatcher_ContainsMatch:
		match = strings.Contains(v, s.ContainsMatch)
	case *route.HeaderMatcher_SafeRegexMatch:
		match = fullRegex(s.SafeRegexMatch.GetRegex(), v)
	case nil:
		match = ok
	default:
		match = false
	}
	return match != h.GetInvertMatch()
}

func stringMatch(m *matcher.StringMatcher, v string) bool {
	ic := m.GetIgnoreCase()
	lower := func(s string) string {
		if ic {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return lower(v) == lower(p.Exact)
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(lower(v), lower(p.Prefix))
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(lower(v), lower(p.Suffix))
	case *matcher.StringMatcher_Contains:
		return strings.Contains(lower(v), lower(p.Contains))
	case *matcher.StringMatcher_SafeRegex:
		return fullRegex(p.SafeRegex.GetRegex(), v)
	}
	return false
}
