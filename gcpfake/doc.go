// Package gcpfake is ferry's in-process fake of the Google Cloud REST APIs
// ferry touches: Compute Engine (instances, disks, networks, firewalls,
// instance groups, load balancing, NEGs, operations), Cloud DNS and Cloud
// Storage (fake-gcs-server mounted in the same handler), and, over gRPC on
// a second port, Migrate to Virtual Machines (m2vm.go: replication cycles,
// clone and cutover jobs whose disks and VMs appear in its Compute Engine),
// and on ports of their own Cloud Monitoring and the Cloud Billing Catalog
// (billing.go: the list prices of the GCE catalogue snapshot as SKUs).
// It is strict where
// the real API is strict (selfLinks, fingerprints, int64-as-string, error
// shapes) so that the real terraform google provider and the
// cloud.google.com/go clients behave against it as against a real project,
// and it injects faults (5xx, 429, slow or failed operations) for
// reliability tests. Like vcsim for vSphere, it ships with ferry: `ferry dev`
// runs it in-process.
package gcpfake

// Wiring, for terraform (see testdata/full/main.tf):
//
//	provider "google" {
//	  project                 = "P"
//	  access_token            = "gcpfake-token"          // any value
//	  compute_custom_endpoint = s.ComputeEndpoint()      // http://127.0.0.1:PORT/compute/v1/
//	  dns_custom_endpoint     = s.DNSEndpoint()          // http://127.0.0.1:PORT/dns/v1/
//	}
//	terraform { backend "gcs" {} }  // init -backend-config=bucket=B
//	  // -backend-config=storage_custom_endpoint=<s.StorageEndpoint()>
//	  // -backend-config=access_token=gcpfake-token   (bucket from s.CreateBucket)
//
// and CHECKPOINT_DISABLE=1 in terraform's environment. Go clients take
// option.WithEndpoint(s.ComputeEndpoint() or s.URL()+"/") with
// option.WithoutAuthentication(), as gcp.Config does. Resources() lists
// what is stored by collection name; every project starts with the
// "default" network and its subnetworks, as a new real project does.
