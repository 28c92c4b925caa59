package traffic

import (
	"context"
	"fmt"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"

	"github.com/ferrymigrate/ferry/plan"
)

// Instances is the part of the compute instances client ferry reads.
type Instances interface {
	Get(ctx context.Context, req *computepb.GetInstanceRequest, opts ...gax.CallOption) (*computepb.Instance, error)
}

var _ Instances = (*compute.InstancesClient)(nil)

// GCE reads the app's provisioned instances.
type GCE struct {
	Instances Instances
	Project   string
	Zone      string // default when a VM names none
	Address   string // see Config.InstanceAddress
}

// Instance is one provisioned GCE instance as ferry needs it.
type Instance struct {
	Name    string `json:"name"`
	Zone    string `json:"zone"`
	Status  string `json:"status"` // RUNNING, ...
	Address string `json:"address"`
}

// List returns the instances of spec's VMs, in plan order.
func (g *GCE) List(ctx context.Context, spec plan.AppSpec) ([]Instance, error) {
	front := spec.FrontEnds()
	out := make([]Instance, 0, len(front))
	for _, vm := range front {
		zone := vm.Zone
		if zone == "" {
			zone = g.Zone
		}
		name := vm.GCEName
		if name == "" {
			name = vm.Name
		}
		in, err := g.Instances.Get(ctx, &computepb.GetInstanceRequest{Project: g.Project, Zone: zone, Instance: name})
		if err != nil {
			return nil, apiError("read instance", fmt.Sprintf("instance %s (zone %s)", name, zone), err)
		}
		out = append(out, Instance{Name: name, Zone: zone, Status: in.GetStatus(), Address: address(in, g.Address)})
	}
	return out, nil
}

func address(in *computepb.Instance, want string) string {
	var internal, external string
	if nics := in.GetNetworkInterfaces(); len(nics) > 0 {
		internal = nics[0].GetNetworkIP()
		for _, ac := range nics[0].GetAccessConfigs() {
			if ac.GetNatIP() != "" {
				external = ac.GetNatIP()
				break
			}
		}
	}
	switch want {
	case "internal":
		return internal
	case "external":
		return external
	}
	if external != "" {
		return external
	}
	return internal
}
