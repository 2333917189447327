package main

// The server side of a call: Istio's simulation takes the connection through the server sidecar's
// virtualInbound listener (its filter chain for the destination port and what the client sends:
// mTLS, plaintext), and reports a TLS mismatch (ErrMTLSError and kin). What it does not do is run
// the authorization filters; this file evaluates istiod's RBAC filters on that chain with Envoy's
// semantics (extensions/filters/common/rbac: matchers.cc, engine_impl.cc): the HTTP filters in
// order (a DENY engine denies on any matching policy, an ALLOW engine denies unless one matches,
// shadow rules only log), and the network RBAC filter for TCP chains.

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbachttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	rbacnet "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"

	"istio.io/istio/pilot/pkg/simulation"
)

// ServerResult: what the server sidecar does with the call.
type ServerResult struct {
	Outcome string `json:"outcome"`          // allowed | denied | tls-refused | undecided
	Policy  string `json:"policy,omitempty"` // the RBAC policy that decided (ns[NS]-policy[NAME]-rule[N])
	Action  string `json:"action,omitempty"` // the deciding engine's action: DENY | ALLOW
	Filter  string `json:"filter,omitempty"` // http | network
	Detail  string `json:"detail,omitempty"` // the TLS error, or why the decision is not known
}

var tlsErrors = []error{simulation.ErrMTLSError, simulation.ErrTLSError, simulation.ErrProtocolError}

// serverSide is called for an inbound call after Istio's simulation ran it.
func serverSide(sim *simulation.Simulation, call Call, r simulation.Result) *ServerResult {
	if r.Error != nil {
		for _, e := range tlsErrors {
			if errors.Is(r.Error, e) {
				return &ServerResult{Outcome: "tls-refused", Detail: r.Error.Error()}
			}
		}
		if errors.Is(r.Error, simulation.ErrNoFilterChain) {
			// no chain accepts what the client sends (a DISABLE server given mTLS, ...)
			return &ServerResult{Outcome: "tls-refused", Detail: r.Error.Error()}
		}
		routing := false
		for _, e := range []error{simulation.ErrNoVirtualHost, simulation.ErrNoRoute, simulation.ErrTLSRedirect} {
			routing = routing || errors.Is(r.Error, e)
		}
		if !routing {
			return nil
		}
		// a routing error (no virtual host, no route) comes after the authorization filters
	}
	fc := inboundChain(sim, r.ListenerMatched, r.FilterChainMatched, call)
	if fc == nil {
		return &ServerResult{Outcome: "undecided", Detail: "filter chain " + r.FilterChainMatched + " not found"}
	}
	req := newRequest(call)
	allowedBy := "" // the ALLOW policy that let the request through, as Envoy reports it
	p := peer{principal: call.SourcePrincipal, ip: call.SourceIP, mtls: call.TLS == "mtls", port: call.Port, address: call.Address, sni: call.Sni, req: req}
	for _, f := range fc.GetFilters() {
		switch f.GetName() {
		case "envoy.filters.network.ext_authz":
			return &ServerResult{Outcome: "undecided", Filter: "network", Detail: "a CUSTOM policy's provider decides"}
		case "envoy.filters.network.rbac":
			cfg := &rbacnet.RBAC{}
			if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
				return &ServerResult{Outcome: "undecided", Detail: err.Error()}
			}
			p.http = false
			if res := engine(cfg.GetRules(), p, "network", &allowedBy); res != nil {
				return res
			}
		case "envoy.filters.network.http_connection_manager":
			hcm := &hcmv3.HttpConnectionManager{}
			if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
				return &ServerResult{Outcome: "undecided", Detail: err.Error()}
			}
			p.http = true
			for _, hf := range hcm.GetHttpFilters() {
				switch hf.GetName() {
				case "envoy.filters.http.ext_authz":
					return &ServerResult{Outcome: "undecided", Filter: "http", Detail: "a CUSTOM policy's provider decides"}
				case "envoy.filters.http.rbac":
					cfg := &rbachttp.RBAC{}
					if err := hf.GetTypedConfig().UnmarshalTo(cfg); err != nil {
						return &ServerResult{Outcome: "undecided", Detail: err.Error()}
					}
					if res := engine(cfg.GetRules(), p, "http", &allowedBy); res != nil {
						return res
					}
				}
			}
		}
	}
	if allowedBy != "" {
		return &ServerResult{Outcome: "allowed", Action: "ALLOW", Policy: allowedBy}
	}
	return &ServerResult{Outcome: "allowed"}
}

// inboundChain finds the chain the simulation matched (names repeat: one per transport).
func inboundChain(sim *simulation.Simulation, listenerName, chainName string, call Call) *listenerv3.FilterChain {
	transport := "raw_buffer"
	if call.TLS == "mtls" || call.TLS == "tls" {
		transport = "tls"
	}
	var best *listenerv3.FilterChain
	bestScore := -1
	for _, l := range sim.Listeners {
		if l.GetName() != listenerName {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			if fc.GetName() != chainName {
				continue
			}
			m := fc.GetFilterChainMatch()
			score := 0
			if dp := m.GetDestinationPort(); dp != nil {
				if int(dp.GetValue()) != call.Port {
					continue
				}
				score += 4
			}
			if tp := m.GetTransportProtocol(); tp != "" {
				if tp != transport {
					continue
				}
				score += 2
			}
			if len(m.GetApplicationProtocols()) > 0 {
				score++
			}
			if score > bestScore {
				best, bestScore = fc, score
			}
		}
	}
	return best
}

type peer struct {
	principal string
	ip        string
	mtls      bool
	http      bool
	port      int
	address   string
	sni       string
	req       *request
}

// engine: nil when this filter lets the request on (an ALLOW engine's matching policy goes to
// allowedBy), else the denial.
func engine(rules *rbacv3.RBAC, p peer, filter string, allowedBy *string) *ServerResult {
	if rules == nil {
		return nil // shadow rules only
	}
	names := make([]string, 0, len(rules.GetPolicies()))
	for n := range rules.GetPolicies() {
		names = append(names, n)
	}
	sort.Strings(names) // Envoy keeps policies in a sorted map and reports the first that matches
	matched := ""
	for _, n := range names {
		pol := rules.GetPolicies()[n]
		if anyPermission(pol.GetPermissions(), p) && anyPrincipal(pol.GetPrincipals(), p) {
			matched = n
			break
		}
	}
	switch rules.GetAction() {
	case rbacv3.RBAC_ALLOW:
		if matched == "" {
			return &ServerResult{Outcome: "denied", Action: "ALLOW", Filter: filter}
		}
		*allowedBy = matched
	case rbacv3.RBAC_DENY:
		if matched != "" {
			return &ServerResult{Outcome: "denied", Action: "DENY", Filter: filter, Policy: matched}
		}
	}
	return nil
}

func anyPermission(ps []*rbacv3.Permission, p peer) bool {
	for _, x := range ps {
		if permission(x, p) {
			return true
		}
	}
	return false
}

func anyPrincipal(ps []*rbacv3.Principal, p peer) bool {
	for _, x := range ps {
		if principal(x, p) {
			return true
		}
	}
	return false
}

func permission(x *rbacv3.Permission, p peer) bool {
	switch r := x.GetRule().(type) {
	case *rbacv3.Permission_AndRules:
		for _, y := range r.AndRules.GetRules() {
			if !permission(y, p) {
				return false
			}
		}
		return true
	case *rbacv3.Permission_OrRules:
		return anyPermission(r.OrRules.GetRules(), p)
	case *rbacv3.Permission_Any:
		return r.Any
	case *rbacv3.Permission_NotRule:
		return !permission(r.NotRule, p)
	case *rbacv3.Permission_Header:
		return p.http && p.req.header(r.Header)
	case *rbacv3.Permission_UrlPath:
		path, _, _ := strings.Cut(p.req.path, "?")
		return p.http && stringMatch(r.UrlPath.GetPath(), path)
	case *rbacv3.Permission_DestinationIp:
		return inCIDR(r.DestinationIp, p.address)
	case *rbacv3.Permission_DestinationPort:
		return int(r.DestinationPort) == p.port
	case *rbacv3.Permission_DestinationPortRange:
		return int32(p.port) >= r.DestinationPortRange.GetStart() && int32(p.port) < r.DestinationPortRange.GetEnd()
	case *rbacv3.Permission_RequestedServerName:
		return stringMatch(r.RequestedServerName, p.sni)
	default:
		// metadata (request principals, JWT claims) and the rest: no such attribute in a call
		return false
	}
}

func principal(x *rbacv3.Principal, p peer) bool {
	switch r := x.GetIdentifier().(type) {
	case *rbacv3.Principal_AndIds:
		for _, y := range r.AndIds.GetIds() {
			if !principal(y, p) {
				return false
			}
		}
		return true
	case *rbacv3.Principal_OrIds:
		return anyPrincipal(r.OrIds.GetIds(), p)
	case *rbacv3.Principal_Any:
		return r.Any
	case *rbacv3.Principal_NotId:
		return !principal(r.NotId, p)
	case *rbacv3.Principal_Authenticated_:
		// a peer certificate is needed; its URI SAN (the SPIFFE identity) is what Istio matches
		if !p.mtls {
			return false
		}
		if r.Authenticated.GetPrincipalName() == nil {
			return true
		}
		return stringMatch(r.Authenticated.GetPrincipalName(), p.principal)
	case *rbacv3.Principal_FilterState:
		if r.FilterState.GetKey() != "io.istio.peer_principal" || !p.mtls {
			return false
		}
		return stringMatch(r.FilterState.GetStringMatch(), p.principal)
	case *rbacv3.Principal_SourceIp:
		return inCIDR(r.SourceIp, p.ip)
	case *rbacv3.Principal_DirectRemoteIp:
		return inCIDR(r.DirectRemoteIp, p.ip)
	case *rbacv3.Principal_RemoteIp:
		return inCIDR(r.RemoteIp, p.ip)
	case *rbacv3.Principal_Header:
		return p.http && p.req.header(r.Header)
	case *rbacv3.Principal_UrlPath:
		path, _, _ := strings.Cut(p.req.path, "?")
		return p.http && stringMatch(r.UrlPath.GetPath(), path)
	default:
		return false
	}
}

func inCIDR(c *core.CidrRange, ip string) bool {
	addr := net.ParseIP(ip)
	if addr == nil || c == nil {
		return false
	}
	bits := 32
	if strings.Contains(c.GetAddressPrefix(), ":") {
		bits = 128
	}
	if c.GetPrefixLen() != nil {
		bits = int(c.GetPrefixLen().GetValue())
	}
	_, n, err := net.ParseCIDR(fmt.Sprintf("%s/%d", c.GetAddressPrefix(), bits))
	return err == nil && n.Contains(addr)
}
