// Package version describes the running build of the project's programs
// (module version, VCS revision, Go version) from the build information
// the Go toolchain embeds, so that no release step has to stamp it.
package version
