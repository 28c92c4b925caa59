package activities

// Activity names. Workflows call activities by these names so the workflow
// package does not depend on how each activity is implemented.
const (
	DiscoverAppName          = "DiscoverApp"
	CheckDependenciesName    = "CheckDependencies"
	TerraformPlanName        = "TerraformPlan"
	TerraformApplyName       = "TerraformApply"
	TerraformDestroyName     = "TerraformDestroy"
	RunHookName              = "RunHook"
	HealthCheckName          = "HealthCheck"
	ShiftTrafficName         = "ShiftTraffic"
	SLOGateName              = "SLOGate"
	TrafficToDatacenterName  = "TrafficToDatacenter"
	PowerOffSourcesName      = "PowerOffSources"
	PowerOnSourcesName       = "PowerOnSources"
	FinalizeDecommissionName = "FinalizeDecommission"
	NotifyName               = "SendNotification" // method SendNotification: the Activities field Notify holds its config
)
