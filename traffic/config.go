// Package traffic shifts an app's traffic between the datacenter and GCP
// (a weighted load balancer URL map, or Cloud DNS) and runs the SLO gate
// after each step.
package traffic

// Config holds the settings of the traffic strategies that are not per app.
type Config struct{}
