package main

// Envoy's route matching (RouteMatch: path specifier, headers, query parameters), for the
// parts Istio's simulation leaves out. Semantics from Envoy's router config_impl.cc and
// header_utility.cc: prefix matches the whole :path (query included), path and regex match it
// with the query removed, regexes match in full, a missing header fails every matcher but an
// inverted present_match unless treat_missing_header_as_empty.

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

type request struct {
	path     string // :path, query included
	headers  map[string]string
	repeated map[string][]string
	query    url.Values
}

func newRequest(c Call) *request {
	path := c.Path
	if path == "" {
		path = "/"
	}
	// istiod's HTTP connection managers set normalize_path: Envoy decodes percent-encoded
	// unreserved characters and removes dot segments (RFC 3986) before routing.
	if p, q, hasQ := strings.Cut(path, "?"); true {
		path = removeDotSegments(decodeUnreserved(p))
		if hasQ {
			path += "?" + q
		}
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
	// Envoy matches query parameters as sent: split on & and =, no percent-decoding.
	q := url.Values{}
	if _, raw, ok := strings.Cut(path, "?"); ok {
		for _, part := range strings.Split(raw, "&") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			q[k] = append(q[k], v)
		}
	}
	rep := map[string][]string{}
	for k, v := range c.Repeated {
		rep[strings.ToLower(k)] = v
	}
	return &request{path: path, headers: h, repeated: rep, query: q}
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
	// A header sent more than once: Envoy (1.40) matches when any one value matches, and the
	// inversion applies to that.
	if vals := r.repeated[strings.ToLower(h.GetName())]; len(vals) > 1 && !strings.HasPrefix(h.GetName(), ":") {
		if _, isPresentMatch := h.GetHeaderMatchSpecifier().(*route.HeaderMatcher_PresentMatch); !isPresentMatch {
			any := false
			for _, one := range vals {
				if valueMatch(h, one, true) {
					any = true
					break
				}
			}
			return any != h.GetInvertMatch()
		}
	}
	return valueMatch(h, v, ok) != h.GetInvertMatch()
}

func valueMatch(h *route.HeaderMatcher, v string, ok bool) bool {
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
	return match
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

func decodeUnreserved(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err == nil {
				c := byte(v)
				if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
					b.WriteByte(c)
					i += 2
					continue
				}
				b.WriteString(strings.ToUpper(p[i : i+3]))
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// removeDotSegments is RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	var out []string
	segs := strings.Split(in, "/")
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}
