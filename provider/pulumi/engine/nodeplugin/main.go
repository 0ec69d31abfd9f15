// Command nodeplugin starts a Pulumi plugin written in JavaScript: installed under a plugin's name
// (pulumi-language-nodejs, pulumi-resource-pulumi-nodejs) next to the pulumi CLI, it replaces itself
// with `node <its directory>/<its name>.mjs <arguments>`.
//
// The SDK ships these plugins as shell scripts, and the container image has no shell; a compiled
// launcher also serves the same layout on a developer's machine, so the two never differ.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

func main() {
	name := filepath.Base(os.Args[0])
	self, err := os.Executable()
	if err != nil {
		fail(name, "cannot find its own location: %v", err)
	}
	script := filepath.Join(filepath.Dir(self), name+".mjs")
	if _, err := os.Stat(script); err != nil {
		fail(name, "its script %s is missing: run `npm run tools` again (or rebuild the image)", script)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		fail(name, "node is not on PATH: the plugin runs on the Node.js that runs vpsie-autoscaler")
	}
	args := append([]string{node, script}, os.Args[1:]...)
	if err := syscall.Exec(node, args, os.Environ()); err != nil {
		fail(name, "cannot start %s: %v", node, err)
	}
}

func fail(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, fmt.Sprintf(format, args...))
	os.Exit(127)
}
