// Package lbrig provisions in gcpfake what terraform creates for an app
// with the lb strategy — instances in a group, health check, both backend
// services (the datacenter one over a hybrid NEG), the weighted URL map,
// proxy and global forwarding rule — and sends it users' traffic through
// the fake's data plane: the rig of the SLO watch's tests and benchmark.
package lbrig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/traffic"
)

// Port is the app's port on its instances (named port http, health check).
const Port = 8080

type obj = map[string]any

func call(tb testing.TB, g gcp.Config, method, path string, body any) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, g.ComputeEndpoint+"projects/"+g.Project+"/"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

// Provision creates app's load balancer in g.Project / g.Zone with the
// names terraform uses, the instances vms behind it, dcEndpoint (ip:port)
// in its hybrid NEG, and gcpPercent of the traffic to GCP. It returns the
// forwarding rule's URL on the data plane.
func Provision(tb testing.TB, s *gcpfake.Server, g gcp.Config, app string, vms []string, gcpPercent int, dcEndpoint string) string {
	tb.Helper()
	z := "zones/" + g.Zone + "/"
	var members []any
	for _, vm := range vms {
		call(tb, g, "POST", z+"instances", obj{"name": vm, "machineType": "e2-small",
			"disks":             []any{obj{"boot": true, "initializeParams": obj{"sourceImage": "projects/debian-cloud/global/images/debian-12"}}},
			"networkInterfaces": []any{obj{}}})
		members = append(members, obj{"instance": z + "instances/" + vm})
	}
	ig := "ferry-" + app + "-" + g.Zone
	call(tb, g, "POST", z+"instanceGroups", obj{"name": ig, "namedPorts": []any{obj{"name": "http", "port": Port}}})
	call(tb, g, "POST", z+"instanceGroups/"+ig+"/addInstances", obj{"instances": members})
	call(tb, g, "POST", "global/healthChecks", obj{"name": "ferry-" + app + "-hc", "httpHealthCheck": obj{"port": Port, "requestPath": "/healthz"}})
	call(tb, g, "POST", "global/backendServices", obj{"name": traffic.GCPBackendName(app), "portName": "http", "protocol": "HTTP",
		"loadBalancingScheme": "EXTERNAL_MANAGED", "healthChecks": []any{"global/healthChecks/ferry-" + app + "-hc"},
		"backends": []any{obj{"group": z + "instanceGroups/" + ig}}})
	host, port, _ := strings.Cut(dcEndpoint, ":")
	neg := traffic.DCNEGName(app)
	call(tb, g, "POST", z+"networkEndpointGroups", obj{"name": neg, "networkEndpointType": "NON_GCP_PRIVATE_IP_PORT", "defaultPort": Port})
	call(tb, g, "POST", z+"networkEndpointGroups/"+neg+"/attachNetworkEndpoints", obj{"networkEndpoints": []any{obj{"ipAddress": host, "port": port}}})
	call(tb, g, "POST", "global/backendServices", obj{"name": traffic.DCBackendName(app), "protocol": "HTTP",
		"loadBalancingScheme": "EXTERNAL_MANAGED", "backends": []any{obj{"group": z + "networkEndpointGroups/" + neg}}})
	call(tb, g, "POST", "global/urlMaps", obj{"name": traffic.URLMapName(app), "defaultRouteAction": obj{"weightedBackendServices": []any{
		obj{"backendService": "global/backendServices/" + traffic.DCBackendName(app), "weight": 100 - gcpPercent},
		obj{"backendService": "global/backendServices/" + traffic.GCPBackendName(app), "weight": gcpPercent}}}})
	call(tb, g, "POST", "global/targetHttpProxies", obj{"name": "ferry-" + app + "-proxy", "urlMap": "global/urlMaps/" + traffic.URLMapName(app)})
	call(tb, g, "POST", "global/forwardingRules", obj{"name": traffic.ForwardingRuleName(app), "portRange": "80",
		"target": "global/targetHttpProxies/ferry-" + app + "-proxy", "loadBalancingScheme": "EXTERNAL_MANAGED"})
	for addr, owner := range s.DataPlaneAddrs() {
		if strings.HasSuffix(owner, "/forwardingRules/"+traffic.ForwardingRuleName(app)) {
			return "http://" + addr + "/"
		}
	}
	tb.Fatalf("no data plane address for the forwarding rule of %s: %v", app, s.DataPlaneErrors())
	return ""
}

// Users sends n concurrent streams of requests to url until stop (or the
// test's end).
func Users(tb testing.TB, url string, n int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c := &http.Client{Timeout: 2 * time.Second}
			for ctx.Err() == nil {
				if resp, err := c.Get(url); err == nil {
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return stop
}

// DCStandIn is the app in the datacenter: a local server that answers
// "dc"; Hybrid maps endpoint (the DC address in the plan) to it.
func DCStandIn(tb testing.TB, endpoint string) (hybrid func(ip string, port int) string) {
	tb.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "dc") })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	return func(ip string, port int) string {
		if fmt.Sprintf("%s:%d", ip, port) == endpoint {
			return addr
		}
		return ""
	}
}
