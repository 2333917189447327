package main

// Reading a folder of YAML the way istiod would see it in a cluster: Istio resources become
// configs, Kubernetes objects go to the fake API server, and EndpointSlices are derived from
// Pods the way the Kubernetes EndpointSlice controller would (the fake server runs no controllers).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	meshconfig "istio.io/api/mesh/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	kubelib "istio.io/istio/pkg/kube"
)

// Inputs is one mesh: what the fake discovery server is built from.
type Inputs struct {
	Configs    []config.Config
	Kube       []runtime.Object
	Pods       []*corev1.Pod
	Mesh       *meshconfig.MeshConfig
	Rejected   []Rejected
	Deployment map[string]map[string]string // ns/name -> pod template labels
	// Gateway API Gateways: ns/name -> gatewayClassName (a Pod labelled with the name is a router)
	KubeGateways map[string]string
	GatewayAPI   int // how many Gateway API objects the sources hold
}

// Rejected is a document istiod would not accept (validation) or this reader does not handle.
type Rejected struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// A fixed creation time for objects that carry none, so istiod's oldest-first ordering falls
// back to namespace/name exactly as it does for objects created in the same second.
var fixedCreation = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type doc struct {
	file string
	raw  []byte
	meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data  map[string]string `json:"data"`
		Items []map[string]any  `json:"items"`
	}
}

func readDocs(paths []string) ([]doc, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				ext := strings.ToLower(filepath.Ext(path))
				if ext == ".yaml" || ext == ".yml" || ext == ".json" {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// -f order matters (a later file wins); WalkDir visits each folder in lexical order
	var out []doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := kubeyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 64*1024)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				// One unreadable document ends this file, as a YAML stream cannot be resynchronised.
				out = append(out, doc{file: f, raw: nil})
				break
			}
			if obj == nil {
				continue
			}
			expanded := []map[string]any{obj}
			if k, _ := obj["kind"].(string); strings.HasSuffix(k, "List") {
				expanded = nil
				if items, ok := obj["items"].([]any); ok {
					for _, it := range items {
						if m, ok := it.(map[string]any); ok {
							expanded = append(expanded, m)
						}
					}
				}
			}
			for _, o := range expanded {
				raw, err := yaml.Marshal(o)
				if err != nil {
					return nil, err
				}
				d := doc{file: f, raw: raw}
				_ = yaml.Unmarshal(raw, &d.meta)
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func isIstioGroup(apiVersion string) bool {
	for _, g := range []string{"networking.istio.io/", "security.istio.io/", "telemetry.istio.io/",
		"extensions.istio.io/"} {
		if strings.HasPrefix(apiVersion, g) {
			return true
		}
	}
	return false
}

// Gateway API objects are not configs to istiod: its gateway controller reads them from the
// Kubernetes API (informers on the fake client) and turns them into Gateways, VirtualServices
// and DestinationRules itself.
func isGatewayAPIGroup(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, "gateway.networking.k8s.io/") || strings.HasPrefix(apiVersion, "gateway.networking.x-k8s.io/")
}

// Kubernetes kinds the discovery server reads; others (Deployments, ConfigMaps...) are not
// registry inputs and are skipped without a report.
var kubeKinds = map[string]bool{"Service": true, "Pod": true, "Namespace": true, "EndpointSlice": true,
	"Node": true, "Secret": true}

func loadInputs(paths []string, meshFile string) (*Inputs, error) {
	docs, err := readDocs(paths)
	if err != nil {
		return nil, err
	}
	in := &Inputs{Deployment: map[string]map[string]string{}, KubeGateways: map[string]string{}}
	meshText := ""
	decode := kubelib.IstioCodec.UniversalDeserializer().Decode
	for _, d := range docs {
		if d.raw == nil {
			in.Rejected = append(in.Rejected, Rejected{File: d.file, Reason: "unparsable YAML"})
			continue
		}
		m := d.meta
		switch {
		case isIstioGroup(m.APIVersion):
			cfgs, _, err := crd.ParseInputs(string(d.raw))
			if err != nil {
				in.Rejected = append(in.Rejected, Rejected{File: d.file, Kind: m.Kind, Name: m.Metadata.Name, Reason: err.Error()})
				continue
			}
			for _, c := range cfgs {
				// a later file wins on the same kind/namespace/name (meshtui's rule for -f)
				if c.Namespace == "" {
					c.Namespace = "default"
				}
				for i, old := range in.Configs {
					if old.GroupVersionKind == c.GroupVersionKind && old.Namespace == c.Namespace && old.Name == c.Name {
						in.Configs = append(in.Configs[:i], in.Configs[i+1:]...)
						break
					}
				}
				if c.Namespace == "" {
					c.Namespace = "default"
				}
				// istiod stamps its domain suffix on every config; short host names resolve with it.
				c.Domain = "cluster.local"
				if c.CreationTimestamp.IsZero() {
					c.CreationTimestamp = fixedCreation
				}
				in.Configs = append(in.Configs, c)
			}
		case m.Kind == "ConfigMap" && m.Metadata.Name == "istio" && m.Metadata.Namespace == "istio-system":
			meshText = m.Data["mesh"]
		case m.Kind == "Deployment" || m.Kind == "StatefulSet":
			var dep struct {
				Spec struct {
					Template struct {
						Metadata struct {
							Labels map[string]string `json:"labels"`
						} `json:"metadata"`
					} `json:"template"`
				} `json:"spec"`
			}
			_ = yaml.Unmarshal(d.raw, &dep)
			ns := m.Metadata.Namespace
			if ns == "" {
				ns = "default"
			}
			in.Deployment[ns+"/"+m.Metadata.Name] = dep.Spec.Template.Metadata.Labels
		case kubeKinds[m.Kind] || isGatewayAPIGroup(m.APIVersion):
			raw := d.raw
			if isGatewayAPIGroup(m.APIVersion) {
				admitted, err := admitGatewayAPI(servedVersion(raw, m.APIVersion, m.Kind))
				if err != nil {
					in.Rejected = append(in.Rejected, Rejected{File: d.file, Kind: m.Kind, Name: m.Metadata.Name, Reason: err.Error()})
					continue
				}
				raw = admitted
				in.GatewayAPI++
			}
			obj, _, err := decode(raw, nil, nil)
			if err != nil {
				in.Rejected = append(in.Rejected, Rejected{File: d.file, Kind: m.Kind, Name: m.Metadata.Name, Reason: err.Error()})
				continue
			}
			clusterScoped := m.Kind == "Namespace" || m.Kind == "Node" || m.Kind == "GatewayClass"
			if mo, ok := obj.(metav1.Object); ok && mo.GetNamespace() == "" && !clusterScoped {
				mo.SetNamespace("default")
			}
			if mo, ok := obj.(metav1.Object); ok && isGatewayAPIGroup(m.APIVersion) && mo.GetCreationTimestamp().Time.IsZero() {
				// route precedence falls back to creation time, then namespace/name (as for configs)
				mo.SetCreationTimestamp(metav1.NewTime(fixedCreation))
			}
			if gw, ok := obj.(*gatewayv1.Gateway); ok {
				in.KubeGateways[gw.Namespace+"/"+gw.Name] = string(gw.Spec.GatewayClassName)
			}
			if p, ok := obj.(*corev1.Pod); ok {
				in.Pods = append(in.Pods, p)
			}
			if svc, ok := obj.(*corev1.Service); ok {
				defaultTargetPorts(svc)
			}
			in.Kube = append(in.Kube, obj)
		}
	}
	if meshFile != "" {
		data, err := os.ReadFile(meshFile)
		if err != nil {
			return nil, err
		}
		meshText = string(data)
		var cm struct {
			Kind string            `json:"kind"`
			Data map[string]string `json:"data"`
		}
		if yaml.Unmarshal(data, &cm) == nil && cm.Kind == "ConfigMap" {
			meshText = cm.Data["mesh"]
		}
	}
	in.Mesh = mesh.DefaultMeshConfig()
	if meshText != "" {
		mc, err := mesh.ApplyMeshConfigDefaults(meshText)
		if err != nil {
			return nil, fmt.Errorf("mesh config: %v", err)
		}
		in.Mesh = mc
	}
	in.Kube = dedupeKube(in.Kube)
	in.Kube = append(in.Kube, managedGateways(in)...)
	in.Kube = append(in.Kube, deriveEndpointSlices(in.Kube)...)
	return in, nil
}

// podReady: the Ready condition; a Running Pod written without conditions (hand-written YAML,
// as the demo mesh's) counts as ready, as the kubelet would report it and as meshtui reads it.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return p.Status.Phase == corev1.PodRunning
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// deriveEndpointSlices does what kube-controller-manager's EndpointSlice controller does for
// Services with a selector and no slice of their own: one endpoint per selected Pod with an IP.
func deriveEndpointSlices(objs []runtime.Object) []runtime.Object {
	have := map[string]bool{}
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			have[s.Namespace+"/"+s.Labels[discoveryv1.LabelServiceName]] = true
		}
	}
	var out []runtime.Object
	for _, o := range objs {
		svc, ok := o.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || have[svc.Namespace+"/"+svc.Name] {
			continue
		}
		var eps []discoveryv1.Endpoint
		var pods []*corev1.Pod
		for _, po := range objs {
			p, ok := po.(*corev1.Pod)
			if !ok || p.Namespace != svc.Namespace || p.Status.PodIP == "" || !selects(svc.Spec.Selector, p.Labels) {
				continue
			}
			ready := podReady(p)
			pods = append(pods, p)
			eps = append(eps, discoveryv1.Endpoint{
				Addresses:  []string{p.Status.PodIP},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name},
			})
		}
		if len(eps) == 0 {
			continue
		}
		// The controller groups endpoints by resolved target ports (named target ports may
		// differ between Pods): one slice per distinct port set.
		groups := map[string][]int{}
		var keys []string
		portSets := map[string][]discoveryv1.EndpointPort{}
		for i, p := range pods {
			ports := podPorts(svc, p)
			key := strings.Join(portsKey(ports), ",")
			if _, ok := groups[key]; !ok {
				keys = append(keys, key)
				portSets[key] = ports
			}
			groups[key] = append(groups[key], i)
		}
		for n, key := range keys {
			var sliceEps []discoveryv1.Endpoint
			for _, i := range groups[key] {
				sliceEps = append(sliceEps, eps[i])
			}
			out = append(out, &discoveryv1.EndpointSlice{
				TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				ObjectMeta: metav1.ObjectMeta{
					Name:      fmt.Sprintf("%s-derived-%d", svc.Name, n),
					Namespace: svc.Namespace,
					Labels:    map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
				},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   sliceEps,
				Ports:       portSets[key],
			})
		}
	}
	return out
}

func podPorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	var ports []discoveryv1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		tp, ok := resolveTargetPort(sp, p)
		if !ok {
			continue
		}
		name, proto, port := sp.Name, sp.Protocol, int32(tp)
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port, AppProtocol: sp.AppProtocol})
	}
	return ports
}

func portsKey(ports []discoveryv1.EndpointPort) []string {
	var k []string
	for _, p := range ports {
		k = append(k, fmt.Sprintf("%s=%d", *p.Name, *p.Port))
	}
	return k
}

func resolveTargetPort(sp corev1.ServicePort, p *corev1.Pod) (int, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal {
					return int(cp.ContainerPort), true
				}
			}
		}
		return 0, false
	case tp.IntVal != 0:
		return int(tp.IntVal), true
	default:
		return int(sp.Port), true
	}
}

// defaultTargetPorts does what the API server does on create: an unset targetPort is the port.
func defaultTargetPorts(svc *corev1.Service) {
	for i, p := range svc.Spec.Ports {
		if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 {
			svc.Spec.Ports[i].TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

// dedupeKube keeps the last object of each kind/namespace/name (a later file wins).
func dedupeKube(objs []runtime.Object) []runtime.Object {
	key := func(o runtime.Object) string {
		m, ok := o.(metav1.Object)
		if !ok {
			return ""
		}
		return fmt.Sprintf("%T/%s/%s", o, m.GetNamespace(), m.GetName())
	}
	seen := map[string]bool{}
	var out []runtime.Object
	for i := len(objs) - 1; i >= 0; i-- {
		k := key(objs[i])
		if k != "" && seen[k] {
			continue
		}
		seen[k] = true
		out = append([]runtime.Object{objs[i]}, out...)
	}
	return out
}
