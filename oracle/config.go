package main

import (
	"fmt"
	"os"
)

func runConfig(args []string) int {
	fmt.Fprintln(os.Stderr, "config: not implemented yet")
	return 3
}

func runSimulate(args []string) int {
	fmt.Fprintln(os.Stderr, "simulate: not implemented yet")
	return 3
}
