package gcpfake

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An app whose VMs serve TLS themselves, behind an Application LB with
// HTTPS backend services (what terraform renders for an https health
// check): the instances answer TLS on the named port "https" with their
// own certificate, and the load balancer reaches them, and the datacenter
// endpoint of the hybrid NEG, over TLS without verifying, as GCP does.
func TestDataPlaneHTTPSBackends(t *testing.T) {
	dc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "dc over %s\n", tlsName(r))
	}))
	t.Cleanup(dc.Close)
	s, _ := startFake(t, Options{DataPlane: true, Hybrid: func(ip string, port int) string {
		if ip == "10.1.2.3" && port == 8443 {
			return dc.Listener.Addr().String()
		}
		return ""
	}})
	z := "zones/europe-west1-b/"
	api(t, s, "POST", z+"instances", `{"name":"web-1","machineType":"e2-small","disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/debian-12"}}],"networkInterfaces":[{}]}`)
	api(t, s, "POST", z+"instanceGroups", `{"name":"app-ig","namedPorts":[{"name":"https","port":8443}]}`)
	api(t, s, "POST", z+"instanceGroups/app-ig/addInstances", `{"instances":[{"instance":"`+z+`instances/web-1"}]}`)
	api(t, s, "POST", "global/healthChecks", `{"name":"app-hc","httpsHealthCheck":{"port":8443,"requestPath":"/healthz"}}`)
	if hc := api(t, s, "GET", "global/healthChecks/app-hc", ""); hc["type"] != "HTTPS" {
		t.Fatalf("health check type %v, want HTTPS", hc["type"])
	}
	refused(t, s, "POST", "global/backendServices", `{"name":"app-gcp","portName":"https","protocol":"https","loadBalancingScheme":"EXTERNAL_MANAGED"}`, "resource.protocol")
	api(t, s, "POST", "global/backendServices", `{"name":"app-gcp","portName":"https","protocol":"HTTPS","loadBalancingScheme":"EXTERNAL_MANAGED","healthChecks":["global/healthChecks/app-hc"],"backends":[{"group":"`+z+`instanceGroups/app-ig"}]}`)
	api(t, s, "POST", z+"networkEndpointGroups", `{"name":"app-dc-neg","networkEndpointType":"NON_GCP_PRIVATE_IP_PORT","defaultPort":8443}`)
	api(t, s, "POST", z+"networkEndpointGroups/app-dc-neg/attachNetworkEndpoints", `{"networkEndpoints":[{"ipAddress":"10.1.2.3","port":8443}]}`)
	api(t, s, "POST", "global/backendServices", `{"name":"app-dc","protocol":"HTTPS","loadBalancingScheme":"EXTERNAL_MANAGED","backends":[{"group":"`+z+`networkEndpointGroups/app-dc-neg"}]}`)
	api(t, s, "POST", "global/urlMaps", `{"name":"app-lb","defaultRouteAction":{"weightedBackendServices":[`+
		`{"backendService":"global/backendServices/app-dc","weight":100},{"backendService":"global/backendServices/app-gcp","weight":0}]}}`)
	api(t, s, "POST", "global/targetHttpProxies", `{"name":"app-proxy","urlMap":"global/urlMaps/app-lb"}`)
	api(t, s, "POST", "global/forwardingRules", `{"name":"app-fr","target":"global/targetHttpProxies/app-proxy","portRange":"80","loadBalancingScheme":"EXTERNAL_MANAGED"}`)
	fr := api(t, s, "GET", "global/forwardingRules/app-fr", "")
	lb := "http://" + fr["IPAddress"].(string)

	// The instance serves TLS with its own certificate, which is not for
	// its address: a verifying client refuses it, plain HTTP gets no app.
	inst := api(t, s, "GET", z+"instances/web-1", "")
	addr := net.JoinHostPort(inst["networkInterfaces"].([]any)[0].(map[string]any)["networkIP"].(string), "8443")
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := insecure.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("instance over TLS: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "gcp web-1\n" || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "web-1" {
		t.Fatalf("instance over TLS: %d %q", resp.StatusCode, b)
	}
	verifying := &http.Client{Timeout: 5 * time.Second}
	if _, err := verifying.Get("https://" + addr + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a verifying client accepted the instance's self-signed certificate: %v", err)
	}
	if resp, err := verifying.Get("http://" + addr + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "gcp web-1") {
			t.Fatalf("plain HTTP to the TLS port reached the app: %d %q", resp.StatusCode, b)
		}
	}

	served, st, body := through(t, lb, 20)
	if served["dc"] != 20 || st[200] != 20 || body != "dc over TLS\n" {
		t.Fatalf("100 %% dc: served %v statuses %v body %q, want the datacenter over TLS", served, st, body)
	}
	shiftWeights(t, s, dpProject, "app-lb", map[string]int{"app-dc": 0, "app-gcp": 100})
	served, st, body = through(t, lb, 20)
	if served["gcp"] != 20 || st[200] != 20 || body != "gcp web-1\n" {
		t.Fatalf("100 %% gcp: served %v statuses %v body %q", served, st, body)
	}

	// Back to HTTP: the instance's port serves plain HTTP again.
	bs := api(t, s, "GET", "global/backendServices/app-gcp", "")
	api(t, s, "PATCH", "global/backendServices/app-gcp", `{"protocol":"HTTP","fingerprint":"`+bs["fingerprint"].(string)+`"}`)
	api(t, s, "POST", "global/healthChecks", `{"name":"app-hc-http","httpHealthCheck":{"port":8443}}`)
	bs = api(t, s, "GET", "global/backendServices/app-gcp", "")
	api(t, s, "PATCH", "global/backendServices/app-gcp", `{"healthChecks":["global/healthChecks/app-hc-http"],"fingerprint":"`+bs["fingerprint"].(string)+`"}`)
	served, st, body = through(t, lb, 5)
	if served["gcp"] != 5 || st[200] != 5 || body != "gcp web-1\n" {
		t.Fatalf("after HTTPS -> HTTP: served %v statuses %v body %q", served, st, body)
	}
}

func tlsName(r *http.Request) string {
	if r.TLS != nil {
		return "TLS"
	}
	return "plain HTTP"
}
