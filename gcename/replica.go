package gcename

import "strconv"

// Names of what Migrate to Virtual Machines creates for a VM whose GCE name
// is vm: terraform attaches the replicated disks by these names, the
// replication activities ask M2VM for them, and cleanup finds test
// leftovers by them.

// ReplicaDisk is the cut-over disk number i (0: boot) of vm.
func ReplicaDisk(vm string, i int) string { return Name(vm+"-m2vm-"+strconv.Itoa(i), nil) }

// CloneVM is the test clone instance of vm.
func CloneVM(vm string) string { return Name(vm+"-ferry-test", nil) }

// CloneDisk is disk number i of vm's test clone.
func CloneDisk(vm string, i int) string { return Name(vm+"-ferry-test-"+strconv.Itoa(i), nil) }
