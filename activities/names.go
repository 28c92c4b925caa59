package activities

// Activity names: the names the worker registers the methods of
// *Activities under (the method names). Workflows call the methods by
// value, so the compiler checks each call; these constants are for test
// doubles registered by name (internal/fakeacts), and a test checks each
// names a method.
const (
	ResolveAppName           = "ResolveApp"
	ResolveWaveName          = "ResolveWave"
	DiscoverAppName          = "DiscoverApp"
	CheckDependenciesName    = "CheckDependencies"
	TerraformPlanName        = "TerraformPlan"
	TerraformApplyName       = "TerraformApply"
	TerraformDestroyName     = "TerraformDestroy"
	RunHookName              = "RunHook"
	HealthCheckName          = "HealthCheck"
	ShiftTrafficName         = "ShiftTraffic"
	SLOGateName              = "SLOGate"
	WatchSLOName             = "WatchSLO"
	TrafficToDatacenterName  = "TrafficToDatacenter"
	PowerOffSourcesName      = "PowerOffSources"
	PowerOnSourcesName       = "PowerOnSources"
	FinalizeDecommissionName = "FinalizeDecommission"
	NotifyName               = "SendNotification" // method SendNotification: the Activities field Notify holds its config
	PrepareClientDNSName     = "PrepareClientDNS"
	PointClientDNSName       = "PointClientDNS"
	RestoreClientDNSName     = "RestoreClientDNS"
	FinalizeClientDNSName    = "FinalizeClientDNS"
	DependencyProgressName   = "DependencyProgress"
)
