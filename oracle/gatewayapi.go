package main

// The Kubernetes Gateway API as istiod reads it. The fake discovery server runs Istio's gateway
// controller (pilot/pkg/config/kube/gateway) on its fake Kubernetes client, so Gateway API
// objects go there, not into the config store. What the oracle adds is what other controllers
// would have done in a cluster: the API server serving every object at the version Istio watches,
// and the deployment controller's Service `<name>-istio` for a managed Gateway (its Deployment's
// Pod comes from the sources, as meshtui's fixtures give it).

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/gateway"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/status"
	"istio.io/istio/pkg/config/schema/gvk"
	"istio.io/istio/pkg/config/schema/gvr"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/kclient/clienttest"
	"istio.io/istio/pkg/test"
)

const gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"

// servedVersion rewrites a Gateway API document to the version Istio's informers watch (the API
// server converts between versions; the fake client does not).
func servedVersion(raw []byte, apiVersion, kind string) []byte {
	group, _, _ := strings.Cut(apiVersion, "/")
	if group != "gateway.networking.k8s.io" {
		return raw
	}
	want := group + "/v1"
	if kind == "ReferenceGrant" {
		want = group + "/v1beta1"
	}
	if apiVersion == want {
		return raw
	}
	var obj map[string]any
	if yaml.Unmarshal(raw, &obj) != nil {
		return raw
	}
	obj["apiVersion"] = want
	out, err := yaml.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// managedGateways: for each Gateway of class istio without spec.addresses of a Service, the
// Service Istio's deployment controller creates (kube-gateway.yaml: status port 15021, then one
// port per distinct listener port, named after the listener), unless the sources hold it.
func managedGateways(in *Inputs) []runtime.Object {
	have := map[string]bool{}
	for _, o := range in.Kube {
		if s, ok := o.(*corev1.Service); ok {
			have[s.Namespace+"/"+s.Name] = true
		}
	}
	var out []runtime.Object
	for _, o := range in.Kube {
		gw, ok := o.(*gatewayv1.Gateway)
		if !ok || gw.Spec.GatewayClassName != "istio" || !managed(gw) {
			continue
		}
		name := gw.Name + "-istio"
		if v := gw.Annotations["gateway.istio.io/name-override"]; v != "" {
			name = v
		}
		if _, found := in.Deployment[gw.Namespace+"/"+name]; !found {
			labels := map[string]string{gatewayNameLabel: gw.Name, "gateway.networking.k8s.io/gateway-class-name": "istio",
				"gateway.istio.io/managed": "istio.io-gateway-controller", "service.istio.io/canonical-name": name,
				"sidecar.istio.io/inject": "false"}
			in.Deployment[gw.Namespace+"/"+name] = labels
			if !in.hasPod(gw.Namespace, labels) {
				// The deployment controller's Deployment and its Pod, so the gateway proxy exists for
				// istiod (its service targets come from the Pod, and the Gateway is Programmed once
				// its Service has endpoints). Its address is made up (240.0.0.0/24), as meshtui
				// makes up its own for a Deployment without Pods.
				pod := &corev1.Pod{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{Name: name + "-oracle-0", Namespace: gw.Namespace, Labels: labels, CreationTimestamp: metav1.NewTime(fixedCreation)},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Image: "auto"}}},
					Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("240.0.0.%d", len(out)+1)},
				}
				in.Pods = append(in.Pods, pod)
				out = append(out, pod)
			}
		}
		if have[gw.Namespace+"/"+name] {
			continue
		}
		tcp := "tcp"
		ports := []corev1.ServicePort{{Name: "status-port", Port: 15021, Protocol: corev1.ProtocolTCP, AppProtocol: &tcp}}
		seen := map[int32]bool{}
		used := map[string]bool{"status-port": true}
		for i, l := range gw.Spec.Listeners {
			if seen[int32(l.Port)] {
				continue
			}
			seen[int32(l.Port)] = true
			pn := strings.ReplaceAll(string(l.Name), ".", "-")
			if len(pn) > 63 {
				pn = pn[:63]
			}
			if pn == "" {
				pn = fmt.Sprintf("%s-%d", strings.ToLower(string(l.Protocol)), i)
			}
			if used[pn] {
				pn = fmt.Sprintf("%s-%d", pn, l.Port)
			}
			used[pn] = true
			app := strings.ToLower(string(l.Protocol))
			ports = append(ports, corev1.ServicePort{Name: pn, Port: int32(l.Port), Protocol: corev1.ProtocolTCP, AppProtocol: &app})
		}
		svc := &corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: gw.Namespace, CreationTimestamp: metav1.NewTime(fixedCreation),
				Labels: map[string]string{gatewayNameLabel: gw.Name, "gateway.networking.k8s.io/gateway-class-name": "istio"},
			},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeLoadBalancer,
				Ports:    ports,
				Selector: map[string]string{gatewayNameLabel: gw.Name},
			},
			// the address a cloud load balancer would assign (without it istiod reports the
			// Gateway Programmed False, AddressNotAssigned, as on a cluster with no LB provider)
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
				{IP: fmt.Sprintf("240.0.1.%d", len(out)+1)}}}},
		}
		defaultTargetPorts(svc)
		out = append(out, svc)
	}
	// the derived EndpointSlices are built after this, so the new Services get theirs
	return out
}

func (in *Inputs) hasPod(ns string, labels map[string]string) bool {
	for _, p := range in.Pods {
		if p.Namespace == ns && selects(map[string]string{gatewayNameLabel: labels[gatewayNameLabel]}, p.Labels) {
			return true
		}
	}
	return false
}

// announceGatewayCRDs: the fake server registers the Gateway API CRDs without the bundle-version
// annotation a real install carries, and Istio's CRD watcher ignores the kinds it requires a
// minimum version of (GRPCRoute, TCPRoute, TLSRoute, BackendTLSPolicy), so their routes would
// never be read. The CRDs are announced again as the installed bundle (this module's Gateway API).
func announceGatewayCRDs(t test.Failer, c kube.Client) {
	version := "v0.0.0"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "sigs.k8s.io/gateway-api" {
				version = d.Version
			}
		}
	}
	for _, g := range []schema.GroupVersionResource{gvr.GRPCRoute, gvr.TCPRoute, gvr.TLSRoute, gvr.BackendTLSPolicy} {
		clienttest.MakeCRDWithAnnotations(t, c, g, map[string]string{"gateway.networking.k8s.io/bundle-version": version})
	}
}

// managed mirrors gatewaycommon.IsManaged: no address, or one IP address, means Istio deploys it.
func managed(gw *gatewayv1.Gateway) bool {
	a := gw.Spec.Addresses
	if len(a) == 0 {
		return true
	}
	return len(a) == 1 && (a[0].Type == nil || *a[0].Type == gatewayv1.IPAddressType)
}

// kubeGatewayPod: the Pod of a Gateway API gateway (labelled with the name of a Gateway in its namespace).
func (in *Inputs) kubeGatewayPod(ns string, labels map[string]string) bool {
	name, ok := labels[gatewayNameLabel]
	if !ok {
		return false
	}
	_, found := in.KubeGateways[ns+"/"+name]
	return found
}

// gatewayOutputs fingerprints what the gateway controller generated, to tell when it has settled.
func gatewayOutputs(c model.GatewayController) string {
	var parts []string
	for _, cfg := range append(append(c.List(gvk.Gateway, ""), c.List(gvk.VirtualService, "")...), c.List(gvk.DestinationRule, "")...) {
		b, _ := json.Marshal(cfg.Spec)
		parts = append(parts, cfg.GroupVersionKind.Kind+"/"+cfg.Namespace+"/"+cfg.Name+"="+string(b))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// settle waits (bounded) until the gateway controller's outputs stop changing: its collections
// recompute asynchronously after each push context (Reconcile), and istiod's next push would
// pick up the result; the oracle builds its one push context after that.
func settle(c model.GatewayController, quiet int) string {
	last := gatewayOutputs(c)
	same := 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && same < quiet {
		time.Sleep(10 * time.Millisecond)
		cur := gatewayOutputs(c)
		if cur == last {
			same++
		} else {
			same, last = 0, cur
		}
	}
	return last
}

// statusQueue records the status istiod would write on each Gateway API object.
type statusQueue struct {
	mu    sync.Mutex
	state map[status.Resource]any
}

func (q *statusQueue) EnqueueStatusUpdateResource(context any, target status.Resource) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.state[target] = context
}

// GatewayStatus is the status istiod's gateway controller computes for one object.
type GatewayStatus struct {
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Status    json.RawMessage `json:"status"`
}

// gatewayStatuses: the controller's status collections, read through a queue of our own (the
// controller keeps them in an unexported field: test infrastructure reaches in, and a change in
// Istio fails loudly).
func gatewayStatuses(c model.GatewayController) ([]GatewayStatus, error) {
	gc, ok := c.(*gateway.Controller)
	if !ok {
		return nil, fmt.Errorf("gateway controller is %T", c)
	}
	v := reflect.ValueOf(gc).Elem().FieldByName("status")
	if !v.IsValid() {
		return nil, fmt.Errorf("gateway.Controller has no field status in this Istio version")
	}
	sc, ok := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().(*status.StatusCollections)
	if !ok {
		return nil, fmt.Errorf("gateway.Controller.status is %s", v.Type())
	}
	q := &statusQueue{state: map[status.Resource]any{}}
	syncers := sc.SetQueue(q)
	defer sc.UnsetQueue()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range syncers {
		for !s.HasSynced() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := []GatewayStatus{}
	for r, st := range q.state {
		b, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		kind := r.GroupVersionResource.Resource
		if k, found := gvk.FromGVR(r.GroupVersionResource); found {
			kind = k.Kind
		}
		if kind == gvk.KubernetesGateway.Kind {
			kind = "Gateway"
		}
		out = append(out, GatewayStatus{Kind: kind, Namespace: r.Namespace, Name: r.Name, Status: b})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
	return out, nil
}
