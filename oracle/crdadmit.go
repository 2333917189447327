package main

// The API server applies each CRD's schema defaults, prunes unknown fields and rejects what fails
// the schema's validation (OpenAPI and CEL rules); the fake client does none of it, and Istio's
// gateway controller relies on the defaults (a match without a path is PathPrefix "/", a
// listener's allowedRoutes is the same namespace, ...). The Gateway API CRDs are the ones Istio's
// integration tests install, read from the module cache (the module this binary was built with).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

const gatewayCRDs = "tests/integration/pilot/testdata/gateway-api-crd.yaml"

type crdSchema struct {
	validator  validation.SchemaCreateValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

var (
	crdOnce    sync.Once
	crdSchemas map[schema.GroupVersionKind]crdSchema
	crdErr     error
)

// istioModuleDir: where the Istio module this binary was built from sits in the module cache.
func istioModuleDir() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("the binary has no build info")
	}
	version := ""
	for _, d := range bi.Deps {
		if d.Path == "istio.io/istio" {
			version = d.Version
			if d.Replace != nil {
				version = d.Replace.Version
			}
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	return filepath.Join(cache, "istio.io", "istio@"+version), nil
}

func loadCRDSchemas() (map[schema.GroupVersionKind]crdSchema, error) {
	dir, err := istioModuleDir()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, gatewayCRDs))
	if err != nil {
		return nil, fmt.Errorf("the Gateway API CRDs are not in the Go module cache (%v): run `go mod download` in oracle/", err)
	}
	defer f.Close()
	out := map[schema.GroupVersionKind]crdSchema{}
	dec := kubeyaml.NewYAMLOrJSONDecoder(f, 512*1024)
	for {
		un := &unstructured.Unstructured{}
		if err := dec.Decode(un); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if un.GetKind() != "CustomResourceDefinition" {
			continue
		}
		v1 := apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(un.UnstructuredContent(), &v1); err != nil {
			return nil, err
		}
		crd := apiextensions.CustomResourceDefinition{}
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
			return nil, err
		}
		for _, ver := range crd.Spec.Versions {
			sch := ver.Schema
			if sch == nil {
				sch = crd.Spec.Validation // the internal form holds a schema shared by every version here
			}
			if sch == nil {
				continue
			}
			sv, _, err := validation.NewSchemaValidator(sch.OpenAPIV3Schema)
			if err != nil {
				return nil, err
			}
			st, err := structuralschema.NewStructural(sch.OpenAPIV3Schema)
			if err != nil {
				return nil, err
			}
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
			out[gvk] = crdSchema{validator: sv, structural: st, cel: cel.NewValidator(st, true, celconfig.PerCallLimit)}
		}
	}
	return out, nil
}

// admitGatewayAPI: one Gateway API document as the API server would store it, or why it refuses it.
func admitGatewayAPI(raw []byte) ([]byte, error) {
	crdOnce.Do(func() { crdSchemas, crdErr = loadCRDSchemas() })
	if crdErr != nil {
		return nil, crdErr
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil { // integers as int64, as the API server holds them
		return nil, err
	}
	s, ok := crdSchemas[u.GroupVersionKind()]
	if !ok {
		return nil, fmt.Errorf("no CRD serves %v", u.GroupVersionKind())
	}
	structuraldefaulting.Default(u.Object, s.structural)
	structuralpruning.Prune(u.Object, s.structural, true)
	if errs := validation.ValidateCustomResource(nil, u.Object, s.validator); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if s.cel != nil {
		if errs, _ := s.cel.Validate(context.Background(), nil, s.structural, u.Object, nil, celconfig.RuntimeCELCostBudget); len(errs) > 0 {
			return nil, errs.ToAggregate()
		}
	}
	return json.Marshal(u.Object)
}
