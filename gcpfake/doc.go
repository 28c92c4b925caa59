// Package gcpfake is ferry's in-process fake of the Google Cloud REST APIs
// ferry touches: Compute Engine (instances, disks, networks, firewalls,
// instance groups, load balancing, NEGs, operations), Cloud DNS and Cloud
// Storage (fake-gcs-server mounted in the same handler). It is strict where
// the real API is strict (selfLinks, fingerprints, int64-as-string, error
// shapes) so that the real terraform google provider and the
// cloud.google.com/go clients behave against it as against a real project,
// and it injects faults (5xx, 429, slow or failed operations) for
// reliability tests. Like vcsim for vSphere, it ships with ferry: `ferry dev`
// runs it in-process.
package gcpfake
