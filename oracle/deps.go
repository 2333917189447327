package main

// The Istio packages the oracle is built on, pinned in go.mod; listed here so the module graph
// (and go.sum) stays whole while subcommands are added.
import (
	_ "istio.io/istio/pilot/pkg/simulation"
	_ "istio.io/istio/pilot/test/xds"
	_ "istio.io/istio/pkg/config/analysis/analyzers"
	_ "istio.io/istio/pkg/config/analysis/local"
)
