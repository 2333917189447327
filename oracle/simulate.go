package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xdstest"
)

// Call is one request, in meshtui's terms; see toIstio for the mapping.
type Call struct {
	Proxy     string            `json:"proxy"`
	ProxyType string            `json:"proxyType,omitempty"`
	Address   string            `json:"address,omitempty"`
	Port      int               `json:"port"`
	Path      string            `json:"path,omitempty"`
	Method    string            `json:"method,omitempty"`
	Protocol  string            `json:"protocol,omitempty"` // http | http2 | tcp
	TLS       string            `json:"tls,omitempty"`      // plaintext | tls | mtls
	Alpn      string            `json:"alpn,omitempty"`
	Host      string            `json:"host,omitempty"` // the Host header (authority)
	Sni       string            `json:"sni,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	// a header sent more than once: each value in order (Headers holds them joined by ",")
	Repeated map[string][]string `json:"repeated,omitempty"`
	CallMode string              `json:"callMode,omitempty"` // outbound | inbound | gateway
	// an inbound call to a gateway pod, run in gateway mode (its server side is still reported)
	inboundToGateway bool
	// inbound calls: the client's identity (its SPIFFE id; sent only over mTLS) and address
	SourcePrincipal string `json:"sourcePrincipal,omitempty"`
	SourceIP        string `json:"sourceIp,omitempty"`
}

// Result is Istio's simulation result, plus what the simulation leaves out: it matches a
// route on the path only (headers, query and method are a TODO in traffic.go), and names no
// cluster for a weighted, redirect or direct-response route. `full` is the route the matched
// virtual host selects with every condition of the route match applied (Envoy's semantics),
// and its action.
type Result struct {
	Listener    string     `json:"listener,omitempty"`
	FilterChain string     `json:"filterChain,omitempty"`
	RouteConfig string     `json:"routeConfig,omitempty"`
	VirtualHost string     `json:"virtualHost,omitempty"`
	Route       string     `json:"route,omitempty"`
	Cluster     string     `json:"cluster,omitempty"`
	Error       string     `json:"error,omitempty"`
	Full        *FullRoute `json:"full,omitempty"`
	// an inbound call: the server sidecar's verdict (TLS, then the RBAC filters)
	Server *ServerResult `json:"server,omitempty"`
	// an inbound call to a gateway pod: run against the gateway's own listeners
	Gateway bool `json:"gateway,omitempty"`
}

type FullRoute struct {
	Matched  bool             `json:"matched"`
	Index    int              `json:"index"`
	Name     string           `json:"name,omitempty"`
	Action   string           `json:"action,omitempty"` // route | redirect | direct_response
	Cluster  string           `json:"cluster,omitempty"`
	Weighted []WeightedTarget `json:"weighted,omitempty"`
	Status   uint32           `json:"status,omitempty"`
	// the route has a CORS policy: Envoy's CORS filter answers a preflight before the router
	Cors bool `json:"cors,omitempty"`
}

type WeightedTarget struct {
	Cluster string `json:"cluster"`
	Weight  uint32 `json:"weight"`
}

func (c Call) toIstio() simulation.Call {
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	return simulation.Call{
		Address:  c.Address,
		Port:     c.Port,
		Path:     c.Path,
		Protocol: simulation.Protocol(c.Protocol),
		TLS:      simulation.TLSMode(c.TLS),
		Alpn:     c.Alpn,
		// Envoy matches virtual host domains case-insensitively; the simulation compares bytes.
		HostHeader: strings.ToLower(c.Host),
		Headers:    h,
		Sni:        c.Sni,
		CallMode:   simulation.CallMode(c.CallMode),
	}
}

func runSimulate(args []string) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	var c common
	c.register(fs)
	callsFile := fs.String("calls", "-", "a JSON list of calls (file, or - for stdin); each names its proxy unless --proxy is given")
	callOne := fs.String("call", "", "one call as JSON (instead of --calls)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	calls, err := readCalls(*callsFile, *callOne)
	if err != nil {
		return fail(2, "calls: %v", err)
	}
	return runInMesh(&c, func(m *meshRun) int {
		if err := json.NewEncoder(os.Stdout).Encode(simulateAll(m, calls, c.proxies, c.proxyType)); err != nil {
			return fail(1, "%v", err)
		}
		return 0
	})
}

func readCalls(file, one string) ([]Call, error) {
	var data []byte
	var err error
	switch {
	case one != "":
		data = []byte("[" + one + "]")
	case file == "-":
		data, err = io.ReadAll(os.Stdin)
	default:
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	var calls []Call
	err = json.Unmarshal(data, &calls)
	return calls, err
}

// simulateAll runs every call; the listeners, routes and clusters are built once per proxy.
func simulateAll(m *meshRun, calls []Call, proxies []string, proxyType string) []Result {
	sims := map[string]*simulation.Simulation{}
	routers := map[string]bool{}
	out := make([]Result, 0, len(calls))
	for _, call := range calls {
		ref := call.Proxy
		if ref == "" && len(proxies) > 0 {
			ref = proxies[0]
		}
		ptype := call.ProxyType
		if ptype == "" {
			ptype = proxyType
		}
		key := ref + "|" + ptype
		sim, ok := sims[key]
		if !ok {
			p, err := m.proxy(ref, ptype)
			if err != nil {
				out = append(out, Result{Error: err.Error()})
				continue
			}
			ls := m.s.Listeners(p)
			// No *testing.T: the simulation only uses it to fail on configs it cannot read,
			// which becomes a recovered panic below, reported for that call.
			sim = &simulation.Simulation{Listeners: ls, Clusters: m.s.Clusters(p), Routes: m.s.RoutesFromListeners(p, ls)}
			sims[key] = sim
			routers[key] = p.Type == model.Router
		}
		if call.CallMode == string(simulation.CallModeInbound) && routers[key] {
			// a gateway has no virtualInbound: a connection to its pod meets the gateway's own listener
			call.CallMode = string(simulation.CallModeGateway)
			call.inboundToGateway = true
		}
		out = append(out, simulateOne(sim, call))
	}
	return out
}

func simulateOne(sim *simulation.Simulation, call Call) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			res = Result{Error: fmt.Sprintf("simulation could not run: %v", r)}
		}
	}()
	r := sim.Run(call.toIstio())
	res = Result{
		Listener:    r.ListenerMatched,
		FilterChain: r.FilterChainMatched,
		RouteConfig: r.RouteConfigMatched,
		VirtualHost: r.VirtualHostMatched,
		Route:       r.RouteMatched,
		Cluster:     r.ClusterMatched,
	}
	if r.Error != nil {
		res.Error = r.Error.Error()
	}
	if call.CallMode == string(simulation.CallModeInbound) || call.inboundToGateway {
		res.Server = serverSide(sim, call, r)
		res.Gateway = call.inboundToGateway
		if call.inboundToGateway && errors.Is(r.Error, simulation.ErrNoListener) {
			// no Gateway server binds the port: the pod refuses the connection
			res.Server = &ServerResult{Outcome: "refused", Detail: r.Error.Error()}
		}
	}
	if r.Error == nil && res.VirtualHost == "" && res.Cluster == "" {
		// a weighted tcp_proxy: the simulation names no cluster; report the split
		if w := tcpWeights(sim, res.Listener, res.FilterChain); len(w) > 0 {
			res.Full = &FullRoute{Matched: true, Index: -1, Action: "tcp", Weighted: w}
		}
	}
	if res.VirtualHost != "" {
		rc := xdstest.ExtractRouteConfigurations(sim.Routes)[res.RouteConfig]
		for _, vh := range rc.GetVirtualHosts() {
			if vh.GetName() == res.VirtualHost {
				res.Full = fullMatch(vh, call)
				break
			}
		}
	}
	return res
}

func fullMatch(vh *route.VirtualHost, call Call) *FullRoute {
	req := newRequest(call)
	for i, r := range vh.GetRoutes() {
		if !req.matches(r.GetMatch()) {
			continue
		}
		_, cors := r.GetTypedPerFilterConfig()["envoy.filters.http.cors"]
		fr := &FullRoute{Matched: true, Index: i, Name: r.GetName(), Cors: cors}
		switch a := r.GetAction().(type) {
		case *route.Route_Route:
			fr.Action = "route"
			fr.Cluster = a.Route.GetCluster()
			for _, w := range a.Route.GetWeightedClusters().GetClusters() {
				fr.Weighted = append(fr.Weighted, WeightedTarget{Cluster: w.GetName(), Weight: w.GetWeight().GetValue()})
			}
		case *route.Route_Redirect:
			fr.Action = "redirect"
			fr.Status = redirectStatus(a.Redirect.GetResponseCode())
		case *route.Route_DirectResponse:
			fr.Action = "direct_response"
			fr.Status = a.DirectResponse.GetStatus()
		default:
			fr.Action = fmt.Sprintf("%T", a)
		}
		return fr
	}
	return &FullRoute{Matched: false, Index: -1}
}

func redirectStatus(c route.RedirectAction_RedirectResponseCode) uint32 {
	switch c {
	case route.RedirectAction_FOUND:
		return 302
	case route.RedirectAction_SEE_OTHER:
		return 303
	case route.RedirectAction_TEMPORARY_REDIRECT:
		return 307
	case route.RedirectAction_PERMANENT_REDIRECT:
		return 308
	default:
		return 301
	}
}

func tcpWeights(sim *simulation.Simulation, listenerName, chainName string) []WeightedTarget {
	for _, l := range sim.Listeners {
		if l.GetName() != listenerName {
			continue
		}
		chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
		if l.GetDefaultFilterChain() != nil {
			chains = append(chains, l.GetDefaultFilterChain())
		}
		for _, fc := range chains {
			if fc.GetName() != chainName {
				continue
			}
			var out []WeightedTarget
			if tp := xdstest.ExtractTCPProxy(nil, fc); tp != nil {
				for _, w := range tp.GetWeightedClusters().GetClusters() {
					out = append(out, WeightedTarget{Cluster: w.GetName(), Weight: w.GetWeight()})
				}
			}
			return out
		}
	}
	return nil
}
