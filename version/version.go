// Package version holds the build's version, stamped in with -ldflags -X.
package version

// Version is set at build time: -X github.com/rktsched/rktsched/version.Version=v1.2.3.
var Version = "dev"
