//go:build tools

// The kubectl of the same release is built from this module too (`k8s.io/kubernetes/cmd/kubectl`):
// the install tests apply deploy/'s Kustomize base with it, as an operator would.
package main

import _ "k8s.io/kubernetes/cmd/kubectl"
