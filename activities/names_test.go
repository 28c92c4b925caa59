package activities

import (
	"reflect"
	"testing"
)

// Every name a test double is registered under must be a method of
// *Activities: a renamed method must fail here, not only in production.
func TestNamesAreMethods(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	for _, n := range []string{ResolveAppName, ResolveWaveName, DiscoverAppName, CheckDependenciesName,
		TerraformPlanName, TerraformApplyName, TerraformDestroyName, RunHookName, HealthCheckName,
		ShiftTrafficName, SLOGateName, WatchSLOName, TrafficToDatacenterName, PowerOffSourcesName, PowerOnSourcesName,
		FinalizeDecommissionName, NotifyName, PrepareClientDNSName, PointClientDNSName, RestoreClientDNSName, FinalizeClientDNSName,
		DependencyProgressName, StartReplicationName, ReplicationStatusName, TestCloneName, CutoverReplicationName,
		FinalizeReplicationName, ExtendReplicationName, CleanupReplicationName, RunSyncCommandName, ProbeSyncLagName} {
		if _, ok := typ.MethodByName(n); !ok {
			t.Errorf("activity name %q has no method on *Activities", n)
		}
	}
}
