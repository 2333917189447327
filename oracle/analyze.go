package main

// analyze: what `istioctl analyze` reports for a folder of YAML, from Istio's own local analysis
// package with every analyzer (analyzers.AllCombined) and no cluster.
//
// Two ways to read the folder:
//   - default ("cluster view"): every object in the folder is analysed as if it were in the
//     cluster, Pods, Services, Namespaces, Nodes and Secrets included. This is how Istio's own
//     analyzer tests read their testdata (AddTestReaderKubeSource) and what an in-cluster
//     `istioctl analyze` sees; it is what meshtui, which reads those kinds from files, is
//     compared with.
//   - --istioctl-files: exactly `istioctl analyze --use-kube=false -f DIR`, which drops those
//     runtime kinds from files (AddReaderKubeSource).
// Both add istioctl's stand-in ingress gateway (AddDefaultResources), as istioctl does offline.
//
// Objects without metadata.namespace get --namespace (default "default", as `istioctl analyze`
// without -n), but messages are reported for every namespace (as with -A).

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/diag"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"
	"istio.io/istio/pkg/log"
)

type analyzeMessage struct {
	Code      string `json:"code"`
	Level     string `json:"level"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Origin    string `json:"origin"`
	Message   string `json:"message"`
	File      string `json:"file"`
	Line      int    `json:"line"`
}

type analyzeResult struct {
	Messages  []analyzeMessage `json:"messages"`
	Executed  []string         `json:"executed"`
	Skipped   []string         `json:"skipped"`
	Files     []string         `json:"files"`
	ReadError string           `json:"readError,omitempty"`
}

func runAnalyze(args []string) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	var dirs analyzeFileFlags
	fs.Var(&dirs, "f", "file or folder of YAML (repeatable)")
	meshConfig := fs.String("mesh-config", "", "MeshConfig YAML file")
	namespace := fs.String("namespace", "default", "namespace for objects that name none")
	istioNamespace := fs.String("istio-namespace", "istio-system", "Istio's namespace")
	istioctlFiles := fs.Bool("istioctl-files", false, "read files as istioctl --use-kube=false does (drops Pods, Services, ...)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Istio logs to stdout by default; stdout carries the JSON, so its log goes to stderr, errors only
	logOpts := log.DefaultOptions()
	logOpts.OutputPaths = []string{"stderr"}
	logOpts.SetDefaultOutputLevel(log.OverrideScopeName, log.ErrorLevel)
	_ = log.Configure(logOpts)
	if len(dirs) == 0 {
		fmt.Fprintln(os.Stderr, "analyze: -f DIR is required")
		return 2
	}
	var readers []local.ReaderSource
	var files []string
	for _, d := range dirs {
		found, err := analyzeYAMLFiles(d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
			return 2
		}
		for _, f := range found {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
				return 2
			}
			files = append(files, f)
			readers = append(readers, local.ReaderSource{Name: f, Reader: strings.NewReader(string(b))})
		}
	}

	sa := local.NewIstiodAnalyzer(analyzers.AllCombined(), resource.Namespace(*namespace),
		resource.Namespace(*istioNamespace), nil)
	if *meshConfig != "" {
		if err := sa.AddFileKubeMeshConfig(*meshConfig); err != nil {
			fmt.Fprintf(os.Stderr, "analyze: mesh config %s: %v\n", *meshConfig, err)
			return 2
		}
	}
	res := analyzeResult{Files: files, Messages: []analyzeMessage{}}
	var readErr error
	if *istioctlFiles {
		// istioctl's order: defaults first, then the files, into one source that leaves out runtime kinds
		if err := sa.AddDefaultResources(); err != nil {
			fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
			return 1
		}
		readErr = sa.AddReaderKubeSource(readers)
	} else {
		// the analyzer tests' order: the first add decides the source's kinds (all of them here)
		readErr = sa.AddTestReaderKubeSource(readers)
		if err := sa.AddDefaultResources(); err != nil {
			fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
			return 1
		}
	}
	if readErr != nil {
		res.ReadError = readErr.Error() // istioctl prints these and goes on
	}
	// The namespace above only named the default for objects without one; blank it now so
	// messages for every namespace are kept (istioctl -A), as there is no public setter.
	analyzeSetUnexported(sa, "namespace", resource.Namespace(""))

	result, err := sa.Analyze(make(chan struct{}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
		return 1
	}
	res.Executed = analyzeSorted(result.ExecutedAnalyzers)
	res.Skipped = analyzeSorted(result.SkippedAnalyzers)
	for i := range result.Messages {
		res.Messages = append(res.Messages, toAnalyzeMessage(&result.Messages[i]))
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "analyze: %v\n", err)
		return 1
	}
	fmt.Println(string(out))
	return 0
}

func toAnalyzeMessage(m *diag.Message) analyzeMessage {
	u := m.Unstructured(false)
	out := analyzeMessage{Code: m.Type.Code(), Level: m.Type.Level().String(), Message: fmt.Sprint(u["message"]), Line: m.Line}
	if m.Resource == nil {
		return out
	}
	o := m.Resource.Origin
	out.Origin = o.FriendlyName()
	out.Kind, _, _ = strings.Cut(out.Origin, " ")
	out.Namespace = string(m.Resource.Metadata.FullName.Namespace)
	out.Name = string(m.Resource.Metadata.FullName.Name)
	if ref := o.Reference(); ref != nil {
		// "file:line" (the line of the object); the message's own line, when set, is more precise
		loc := ref.String()
		if i := strings.LastIndex(loc, ":"); i > 0 {
			if n, err := strconv.Atoi(loc[i+1:]); err == nil {
				out.File = loc[:i]
				if out.Line == 0 {
					out.Line = n
				}
			} else {
				out.File = loc
			}
		} else {
			out.File = loc
		}
	}
	return out
}

// analyzeYAMLFiles lists the .yaml/.yml/.json files under path (or path itself), sorted.
func analyzeYAMLFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// analyzeSetUnexported sets a private field of *IstiodAnalyzer; test infrastructure only, so the
// field name is checked and a change in Istio fails loudly rather than silently.
func analyzeSetUnexported(target any, field string, value any) {
	v := reflect.ValueOf(target).Elem().FieldByName(field)
	if !v.IsValid() {
		panic(fmt.Sprintf("oracle: IstiodAnalyzer has no field %q in this Istio version", field))
	}
	reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Set(reflect.ValueOf(value))
}

func analyzeSorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

type analyzeFileFlags []string

func (m *analyzeFileFlags) String() string     { return strings.Join(*m, ",") }
func (m *analyzeFileFlags) Set(v string) error { *m = append(*m, v); return nil }
