package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	istiolog "istio.io/istio/pkg/log"
	"istio.io/istio/pkg/test"
)

// The Istio version the proxies claim: the module's own line, so no compatibility branch of
// an older proxy is taken.
const proxyIstioVersion = "1.31.0"

var pj = protojson.MarshalOptions{UseProtoNames: true}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type common struct {
	files     stringList
	meshFile  string
	proxies   stringList
	proxyType string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.files, "f", "a YAML file or folder (repeatable)")
	fs.StringVar(&c.meshFile, "mesh-config", "", "a MeshConfig YAML, or the istio ConfigMap holding one")
	fs.Var(&c.proxies, "proxy", "NS/POD (or NS/DEPLOYMENT), optionally @sidecar or @router: the proxy; repeatable for config")
	fs.StringVar(&c.proxyType, "proxy-type", "", "sidecar|router (default: router when a Gateway selects it)")
}

func quietLogs() {
	o := istiolog.DefaultOptions()
	o.SetDefaultOutputLevel(istiolog.OverrideScopeName, istiolog.ErrorLevel)
	for _, s := range istiolog.Scopes() {
		s.SetOutputLevel(istiolog.NoneLevel)
	}
	_ = istiolog.Configure(o)
	for _, s := range istiolog.Scopes() {
		s.SetOutputLevel(istiolog.NoneLevel)
	}
}

func fail(code int, format string, args ...any) int {
	msg, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	fmt.Println(string(msg))
	return code
}

// mesh holds one started fake istiod for a folder of YAML.
type meshRun struct {
	in *Inputs
	s  *xds.FakeDiscoveryServer
}

func startMesh(t test.Failer, in *Inputs) *meshRun {
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:           in.Configs,
		KubernetesObjects: in.Kube,
		MeshConfig:        in.Mesh,
	})
	// The server's own pushes race the config events still arriving; once every controller has
	// synced, one push context built from scratch sees every config (as istiod's full push does).
	// The Gateway API controller recomputes its outputs after each push context: wait for them to
	// settle, and build the push context again until they no longer change.
	gwc := s.Env().GatewayAPIController
	before := ""
	if gwc != nil && hasGatewayAPI(in) {
		announceGatewayCRDs(t, s.KubeClient())
		before = settle(gwc, 20)
	}
	for i := 0; i < 3; i++ {
		pc := model.NewPushContext()
		pc.InitContext(s.Env(), nil, nil)
		s.Env().SetPushContext(pc)
		if gwc == nil || !hasGatewayAPI(in) {
			break
		}
		after := settle(gwc, 20)
		if after == before {
			break
		}
		before = after
	}
	return &meshRun{in: in, s: s}
}

// proxy builds the model.Proxy istiod would hold for the Pod (or a Deployment's template when
// no Pod is given) named NS/NAME.
func (m *meshRun) proxy(ref, proxyType string) (*model.Proxy, error) {
	// NS/POD@router (or @sidecar) names the proxy type per proxy.
	if r, t, found := strings.Cut(ref, "@"); found {
		ref, proxyType = r, t
	}
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, fmt.Errorf("--proxy %q: want NS/POD", ref)
	}
	var labels map[string]string
	ip := ""
	var pod *corev1.Pod
	for _, p := range m.in.Pods {
		if p.Namespace == ns && p.Name == name {
			pod = p
			break
		}
	}
	if pod == nil {
		// A Deployment: its first Pod when the sources hold Pods (as meshtui does), else its template.
		if tl, found := m.in.Deployment[ns+"/"+name]; found {
			for _, p := range m.in.Pods {
				if p.Namespace == ns && len(tl) > 0 && selects(tl, p.Labels) {
					pod = p
					break
				}
			}
			if pod == nil {
				labels = tl
			}
		} else {
			return nil, fmt.Errorf("--proxy %q: no such Pod or Deployment", ref)
		}
	}
	id := name + "." + ns
	if pod != nil {
		labels = pod.Labels
		ip = pod.Status.PodIP
		id = pod.Name + "." + ns
	}
	if ip == "" {
		ip = "1.1.1.1"
	}
	if labels == nil {
		labels = map[string]string{}
	}
	t := model.SidecarProxy
	switch proxyType {
	case "router":
		t = model.Router
	case "sidecar":
	case "":
		if m.gatewaySelects(ns, labels) {
			t = model.Router
		}
	default:
		return nil, fmt.Errorf("--proxy-type %q: want sidecar or router", proxyType)
	}
	p := &model.Proxy{
		Type:            t,
		ID:              id,
		IPAddresses:     []string{ip},
		ConfigNamespace: ns,
		Labels:          labels,
		Metadata: &model.NodeMetadata{
			Labels:       labels,
			Namespace:    ns,
			ClusterID:    "Kubernetes",
			IstioVersion: proxyIstioVersion,
		},
	}
	return m.s.SetupProxy(p), nil
}

func (m *meshRun) gatewaySelects(ns string, labels map[string]string) bool {
	if m.in.kubeGatewayPod(ns, labels) {
		return true
	}
	for _, c := range m.in.Configs {
		if c.GroupVersionKind.Kind != "Gateway" || c.GroupVersionKind.Group != "networking.istio.io" {
			continue
		}
		sel := map[string]string{}
		if b, err := json.Marshal(c.Spec); err == nil {
			var spec struct {
				Selector map[string]string `json:"selector"`
			}
			_ = json.Unmarshal(b, &spec)
			sel = spec.Selector
		}
		if len(sel) > 0 && selects(sel, labels) {
			return true
		}
	}
	return false
}

func marshalAll[T proto.Message](msgs []T) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		b, err := pj.Marshal(m)
		if err != nil {
			b, _ = json.Marshal(map[string]string{"marshalError": err.Error()})
		}
		out = append(out, b)
	}
	return out
}

type proxyConfig struct {
	Proxy     string            `json:"proxy"`
	Type      string            `json:"type"`
	Listeners []json.RawMessage `json:"listeners"`
	Routes    []json.RawMessage `json:"routes"`
	Clusters  []json.RawMessage `json:"clusters"`
	Endpoints []json.RawMessage `json:"endpoints"`
	Error     string            `json:"error,omitempty"`
}

func hasGatewayAPI(in *Inputs) bool { return in.GatewayAPI > 0 }

// runInMesh loads the inputs, starts the fake istiod under a test.Failer that turns a Fatal into
// an error, and runs fn; stdout is written by fn only.
func runInMesh(c *common, fn func(m *meshRun) int) int {
	quietLogs()
	if len(c.files) == 0 {
		return fail(2, "-f DIR is required")
	}
	in, err := loadInputs(c.files, c.meshFile)
	if err != nil {
		return fail(2, "%v", err)
	}
	rc := 0
	werr := test.Wrap(func(t test.Failer) {
		m := startMesh(t, in)
		rc = fn(m)
	})
	if werr != nil {
		return fail(1, "istio: %v", werr)
	}
	return rc
}

func runConfig(args []string) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	var c common
	c.register(fs)
	callsFile := fs.String("calls", "", "also simulate these calls (a JSON list, file or -) in the same istiod")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(c.proxies) == 0 {
		return fail(2, "--proxy NS/POD is required")
	}
	var calls []Call
	if *callsFile != "" {
		var err error
		if calls, err = readCalls(*callsFile, ""); err != nil {
			return fail(2, "calls: %v", err)
		}
	}
	return runInMesh(&c, func(m *meshRun) int {
		out := struct {
			Proxies  []proxyConfig `json:"proxies"`
			Rejected []Rejected    `json:"rejected"`
			Calls    []Result      `json:"calls,omitempty"`
			// the status istiod's gateway controller writes on each Gateway API object
			GatewayStatus []GatewayStatus `json:"gatewayStatus,omitempty"`
			GatewayError  string          `json:"gatewayStatusError,omitempty"`
		}{Rejected: m.in.Rejected}
		if hasGatewayAPI(m.in) {
			st, err := gatewayStatuses(m.s.Env().GatewayAPIController)
			out.GatewayStatus = st
			if err != nil {
				out.GatewayError = err.Error()
			}
		}
		for _, ref := range c.proxies {
			pc := proxyConfig{Proxy: ref}
			p, err := m.proxy(ref, c.proxyType)
			if err != nil {
				pc.Error = err.Error()
				out.Proxies = append(out.Proxies, pc)
				continue
			}
			pc.Type = string(p.Type)
			ls := m.s.Listeners(p)
			pc.Listeners = marshalAll(ls)
			pc.Routes = marshalAll(m.s.RoutesFromListeners(p, ls))
			pc.Clusters = marshalAll(m.s.Clusters(p))
			pc.Endpoints = marshalAll(m.s.Endpoints(p))
			out.Proxies = append(out.Proxies, pc)
		}
		out.Calls = simulateAll(m, calls, c.proxies, c.proxyType)
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(out); err != nil {
			return fail(1, "%v", err)
		}
		return 0
	})
}
