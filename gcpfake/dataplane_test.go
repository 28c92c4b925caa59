package gcpfake

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const dpProject = "ferry-dp"

// api sends one compute API change and fails the test unless it is
// accepted.
func api(t *testing.T, s *Server, method, path, body string) map[string]any {
	t.Helper()
	code, _, m := do(t, method, s.ComputeEndpoint()+"projects/"+dpProject+"/"+path, body)
	if code != 200 {
		t.Fatalf("%s %s: %d %v", method, path, code, m)
	}
	return m
}

// dcStandIn is a local stand-in of the app in the datacenter.
func dcStandIn(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "dc 10.1.2.3:8080")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// appLB creates what terraform creates for an app with the lb strategy:
// two instances in a group with named port http=8080, a health check, the
// GCP backend service, a hybrid NEG with one datacenter endpoint and its
// backend service, the weighted URL map, the proxy and the forwarding rule.
// It returns the forwarding rule's address.
func appLB(t *testing.T, s *Server) string {
	t.Helper()
	z := "zones/europe-west1-b/"
	for _, n := range []string{"web-1", "web-2"} {
		api(t, s, "POST", z+"instances", `{"name":"`+n+`","machineType":"e2-small","disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/debian-12"}}],"networkInterfaces":[{}]}`)
	}
	api(t, s, "POST", z+"instanceGroups", `{"name":"app-ig"}`)
	api(t, s, "POST", z+"instanceGroups/app-ig/addInstances", `{"instances":[{"instance":"`+z+`instances/web-1"},{"instance":"`+z+`instances/web-2"}]}`)
	ig := api(t, s, "GET", z+"instanceGroups/app-ig", "")
	api(t, s, "POST", z+"instanceGroups/app-ig/setNamedPorts", `{"fingerprint":"`+ig["fingerprint"].(string)+`","namedPorts":[{"name":"http","port":8080}]}`)
	api(t, s, "POST", "global/healthChecks", `{"name":"app-hc","httpHealthCheck":{"port":8080,"requestPath":"/healthz"}}`)
	api(t, s, "POST", "global/backendServices", `{"name":"app-gcp","portName":"http","protocol":"HTTP","healthChecks":["global/healthChecks/app-hc"],"backends":[{"group":"`+z+`instanceGroups/app-ig"}]}`)
	api(t, s, "POST", z+"networkEndpointGroups", `{"name":"app-dc-neg","networkEndpointType":"NON_GCP_PRIVATE_IP_PORT","defaultPort":8080}`)
	api(t, s, "POST", z+"networkEndpointGroups/app-dc-neg/attachNetworkEndpoints", `{"networkEndpoints":[{"ipAddress":"10.1.2.3","port":8080}]}`)
	api(t, s, "POST", "global/backendServices", `{"name":"app-dc","protocol":"HTTP","backends":[{"group":"`+z+`networkEndpointGroups/app-dc-neg"}]}`)
	api(t, s, "POST", "global/urlMaps", `{"name":"app-lb","defaultRouteAction":{"weightedBackendServices":[`+
		`{"backendService":"global/backendServices/app-dc","weight":100},{"backendService":"global/backendServices/app-gcp","weight":0}]}}`)
	api(t, s, "POST", "global/targetHttpProxies", `{"name":"app-proxy","urlMap":"global/urlMaps/app-lb"}`)
	api(t, s, "POST", "global/forwardingRules", `{"name":"app-fr","target":"global/targetHttpProxies/app-proxy","portRange":"80","loadBalancingScheme":"EXTERNAL_MANAGED"}`)
	fr := api(t, s, "GET", "global/forwardingRules/app-fr", "")
	ip, _ := fr["IPAddress"].(string)
	if !strings.HasPrefix(ip, LBPool+".") {
		t.Fatalf("forwarding rule IPAddress %q, want one from %s.0.0/16", ip, LBPool)
	}
	return "http://" + ip
}

// through sends n requests to the load balancer and counts answers by
// X-Served-By and status.
func through(t *testing.T, url string, n int) (served map[string]int, statuses map[int]int, body string) {
	t.Helper()
	served, statuses = map[string]int{}, map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := http.Get(url + "/orders")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			served[resp.Header.Get(ServedByHeader)]++
			statuses[resp.StatusCode]++
			body = string(b)
			mu.Unlock()
		})
	}
	wg.Wait()
	return served, statuses, body
}

func TestDataPlaneWeightsThroughTheLoadBalancer(t *testing.T) {
	dc := dcStandIn(t)
	s, _ := startFake(t, Options{DataPlane: true, Hybrid: func(ip string, port int) string {
		if ip == "10.1.2.3" && port == 8080 {
			return dc
		}
		return ""
	}})
	lb := appLB(t, s)

	// Instances answer on their loopback address and the group's port.
	inst := api(t, s, "GET", "zones/europe-west1-b/instances/web-1", "")
	ip := inst["networkInterfaces"].([]any)[0].(map[string]any)["networkIP"].(string)
	if !strings.HasPrefix(ip, InstancePool+".") {
		t.Fatalf("networkIP %q, want one from %s.0.0/16", ip, InstancePool)
	}
	resp, err := http.Get("http://" + net.JoinHostPort(ip, "8080") + "/healthz")
	if err != nil {
		t.Fatalf("instance app: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "gcp web-1" {
		t.Fatalf("instance app: %d %q", resp.StatusCode, b)
	}

	const n = 200
	served, st, body := through(t, lb, n)
	if served["dc"] != n || st[200] != n || !strings.HasPrefix(body, "dc ") {
		t.Fatalf("100/0: served %v statuses %v body %q, want all from dc", served, st, body)
	}
	shiftWeights(t, s, dpProject, "app-lb", map[string]int{"app-dc": 50, "app-gcp": 50})
	served, st, _ = through(t, lb, n)
	// Binomial(200, 0.5): below 60 or above 140 happens with p < 1e-8.
	if st[200] != n || served["gcp"] < 60 || served["dc"] < 60 {
		t.Fatalf("50/50: served %v statuses %v", served, st)
	}
	t.Logf("50/50 over %d requests: %v", n, served)
	shiftWeights(t, s, dpProject, "app-lb", map[string]int{"app-dc": 0, "app-gcp": 100})
	served, st, body = through(t, lb, n)
	if served["gcp"] != n || st[200] != n || !strings.HasPrefix(body, "gcp web-") {
		t.Fatalf("0/100: served %v statuses %v body %q, want all from gcp", served, st, body)
	}

	// A failing app on one instance shows through the load balancer.
	s.SetAppFault(dpProject, "web-2", AppFault{Status: 503})
	_, st, _ = through(t, lb, n)
	if st[503] == 0 || st[200] == 0 || st[503]+st[200] != n {
		t.Fatalf("fault on web-2: statuses %v, want a mix of 200 and 503", st)
	}
	s.SetAppFault(dpProject, "web-2", AppFault{})

	// A stopped instance stops answering; the other keeps serving.
	api(t, s, "POST", "zones/europe-west1-b/instances/web-1/stop", "")
	if _, err := http.Get("http://" + net.JoinHostPort(ip, "8080")); err == nil {
		t.Fatal("web-1 is stopped but its app still answers")
	}
	_, st, body = through(t, lb, 20)
	if st[200] != 20 || body != "gcp web-2\n" {
		t.Fatalf("web-1 stopped: statuses %v body %q, want web-2 only", st, body)
	}
}

func TestDataPlaneHybridWithoutMappingAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Options{DataPlane: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lb := appLB(t, s)
	served, st, body := through(t, lb, 5)
	if st[502] != 5 || served["dc"] != 5 || !strings.Contains(body, "no healthy backend") {
		t.Fatalf("no hybrid mapping: statuses %v served %v body %q, want 502 from dc", st, served, body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(lb); err == nil {
		t.Fatal("closed fake still serves its load balancer")
	}
	// A restarted fake serves the same addresses from its state.
	s2, err := Start(Options{DataPlane: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	shiftWeights(t, s2, dpProject, "app-lb", map[string]int{"app-dc": 0, "app-gcp": 100})
	served, st, _ = through(t, lb, 5)
	if st[200] != 5 || served["gcp"] != 5 {
		t.Fatalf("after restart: statuses %v served %v", st, served)
	}
	if errs := s2.DataPlaneErrors(); len(errs) != 0 {
		t.Fatalf("data plane errors: %v", errs)
	}
	// Deleting the forwarding rule stops its listener.
	api(t, s2, "DELETE", "global/forwardingRules/app-fr", "")
	for _, owner := range s2.DataPlaneAddrs() {
		if strings.HasSuffix(owner, "/app-fr") {
			t.Fatal("deleted forwarding rule still listens")
		}
	}
}
