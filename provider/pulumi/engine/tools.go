//go:build tools

// Package tools pins the Pulumi CLI at the version of the npm @pulumi/pulumi
// SDK, so that `go build` can produce it from the Go module proxy alone.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
