// Command meshtui-oracle runs Istio's own Go packages on a folder of YAML so meshtui's
// translation, traces and findings can be compared with istiod's. Test infrastructure only.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: meshtui-oracle config|simulate|analyze [flags]
  config   --proxy NS/POD -f DIR [--mesh-config FILE]            Envoy config istiod generates for one proxy
  simulate --proxy NS/POD --calls FILE|- -f DIR [--mesh-config FILE]  Istio's traffic simulation for calls
  analyze  -f DIR [--mesh-config FILE]                            istioctl analyze's findings
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	var rc int
	switch os.Args[1] {
	case "config":
		rc = runConfig(args)
	case "simulate":
		rc = runSimulate(args)
	case "analyze":
		rc = runAnalyze(args)
	default:
		fmt.Fprint(os.Stderr, usage)
		rc = 2
	}
	os.Exit(rc)
}
