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
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
)

// Port is the app's port on its instances (named port http, health check).
const Port = 8080

type obj = map[string]any

// Call sends one compute API request to the fake (body nil: none) and
// fails the test unless it is accepted; it returns the decoded answer.
func Call(tb testing.TB, g gcp.Config, method, path string, body any) map[string]any {
	tb.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.ComputeEndpoint+"projects/"+g.Project+"/"+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, m)
	}
	return m
}

// Provision creates app's load balancer in g.Project / g.Zone with the
// names terraform gives it (package gcename), the instances vms behind it,
// dcEndpoint (ip:port) in its hybrid NEG, and gcpPercent of the traffic to
// GCP. It returns the forwarding rule's URL on the data plane.
func Provision(tb testing.TB, s *gcpfake.Server, g gcp.Config, app string, vms []string, gcpPercent int, dcEndpoint string) string {
	tb.Helper()
	z := "zones/" + g.Zone + "/"
	var members []any
	for _, vm := range vms {
		Call(tb, g, "POST", z+"instances", obj{"name": vm, "machineType": "e2-small",
			"disks":             []any{obj{"boot": true, "initializeParams": obj{"sourceImage": "projects/debian-cloud/global/images/debian-12"}}},
			"networkInterfaces": []any{obj{}}})
		members = append(members, obj{"instance": z + "instances/" + vm})
	}
	ig := gcename.Scoped(app, "-"+g.Zone)
	hc, gcpBS, dcBS, um, px, fr := gcename.HealthCheck(app), gcename.GCPBackend(app), gcename.DCBackend(app), gcename.URLMap(app), gcename.Proxy(app), gcename.ForwardingRule(app)
	Call(tb, g, "POST", z+"instanceGroups", obj{"name": ig, "namedPorts": []any{obj{"name": "http", "port": Port}}})
	Call(tb, g, "POST", z+"instanceGroups/"+ig+"/addInstances", obj{"instances": members})
	Call(tb, g, "POST", "global/healthChecks", obj{"name": hc, "httpHealthCheck": obj{"port": Port, "requestPath": "/healthz"}})
	Call(tb, g, "POST", "global/backendServices", obj{"name": gcpBS, "portName": "http", "protocol": "HTTP",
		"loadBalancingScheme": "EXTERNAL_MANAGED", "healthChecks": []any{"global/healthChecks/" + hc},
		"backends": []any{obj{"group": z + "instanceGroups/" + ig}}})
	host, port, err := net.SplitHostPort(dcEndpoint)
	if err != nil {
		tb.Fatal(err)
	}
	neg := gcename.DCNEG(app)
	Call(tb, g, "POST", z+"networkEndpointGroups", obj{"name": neg, "networkEndpointType": "NON_GCP_PRIVATE_IP_PORT", "defaultPort": Port})
	Call(tb, g, "POST", z+"networkEndpointGroups/"+neg+"/attachNetworkEndpoints", obj{"networkEndpoints": []any{obj{"ipAddress": host, "port": port}}})
	Call(tb, g, "POST", "global/backendServices", obj{"name": dcBS, "protocol": "HTTP",
		"loadBalancingScheme": "EXTERNAL_MANAGED", "backends": []any{obj{"group": z + "networkEndpointGroups/" + neg}}})
	Call(tb, g, "POST", "global/urlMaps", obj{"name": um, "defaultRouteAction": obj{"weightedBackendServices": []any{
		obj{"backendService": "global/backendServices/" + dcBS, "weight": 100 - gcpPercent},
		obj{"backendService": "global/backendServices/" + gcpBS, "weight": gcpPercent}}}})
	Call(tb, g, "POST", "global/targetHttpProxies", obj{"name": px, "urlMap": "global/urlMaps/" + um})
	Call(tb, g, "POST", "global/forwardingRules", obj{"name": fr, "portRange": "80",
		"target": "global/targetHttpProxies/" + px, "loadBalancingScheme": "EXTERNAL_MANAGED"})
	for addr, owner := range s.DataPlaneAddrs() {
		if strings.HasSuffix(owner, "/forwardingRules/"+fr) {
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
