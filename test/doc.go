// Package test holds ferry's end-to-end tests: the real ferry binary, the
// Temporal dev server, the vCenter simulator, gcpfake and the real
// terraform with the real google provider, all on loopback.
package test
