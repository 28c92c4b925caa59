package gcpfake

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/testcert"
)

// refused sends a change GCP refuses and returns its message.
func refused(t *testing.T, s *Server, method, path, body, want string) {
	t.Helper()
	code, _, m := do(t, method, s.ComputeEndpoint()+"projects/"+dpProject+"/"+path, body)
	msg, _ := json.Marshal(m)
	if code < 400 || code >= 500 || !strings.Contains(string(msg), want) {
		t.Fatalf("%s %s: %d %s, want a 4xx naming %q", method, path, code, msg, want)
	}
}

func jsonStr(s string) string { b, _ := json.Marshal(s); return string(b) }

// group creates instance web-1 in a group with named port http=port.
func group(t *testing.T, s *Server, name string, port int) string {
	t.Helper()
	z := "zones/europe-west1-b/"
	api(t, s, "POST", z+"instances", `{"name":"`+name+`-1","machineType":"e2-small","disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/debian-12"}}],"networkInterfaces":[{}]}`)
	api(t, s, "POST", z+"instanceGroups", `{"name":"`+name+`-ig","namedPorts":[{"name":"http","port":`+itoa(port)+`}]}`)
	api(t, s, "POST", z+"instanceGroups/"+name+"-ig/addInstances", `{"instances":[{"instance":"`+z+`instances/`+name+`-1"}]}`)
	return z + "instanceGroups/" + name + "-ig"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestHTTPSLoadBalancer(t *testing.T) {
	s, err := Start(Options{DataPlane: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pair, other := testcert.New(t, "shop.example.test"), testcert.New(t, "other.example.test")
	ig := group(t, s, "shop", 8080)
	api(t, s, "POST", "global/healthChecks", `{"name":"shop-hc","httpHealthCheck":{"port":8080}}`)
	api(t, s, "POST", "global/backendServices", `{"name":"shop-gcp","portName":"http","protocol":"HTTP","loadBalancingScheme":"EXTERNAL_MANAGED","healthChecks":["global/healthChecks/shop-hc"],"backends":[{"group":"`+ig+`"}]}`)
	api(t, s, "POST", "global/urlMaps", `{"name":"shop-lb","defaultService":"global/backendServices/shop-gcp"}`)

	// A key that is not the certificate's, and a proxy without a certificate, are refused.
	refused(t, s, "POST", "global/sslCertificates", `{"name":"bad","certificate":`+jsonStr(string(pair.CertPEM))+`,"privateKey":`+jsonStr(string(other.KeyPEM))+`}`, "do not match")
	refused(t, s, "POST", "global/targetHttpsProxies", `{"name":"shop-proxy","urlMap":"global/urlMaps/shop-lb"}`, "At least one SSL certificate")
	refused(t, s, "POST", "global/targetHttpsProxies", `{"name":"shop-proxy","urlMap":"global/urlMaps/shop-lb","sslCertificates":["global/sslCertificates/nothing"]}`, "notFound")
	refused(t, s, "POST", "global/targetHttpsProxies", `{"name":"shop-proxy","urlMap":"global/urlMaps/shop-lb","certificateMap":"//certificatemanager.googleapis.com/projects/`+dpProject+`/locations/global/certificateMaps/none"}`, "certificateMaps/none")

	api(t, s, "POST", "global/sslCertificates", `{"name":"shop-cert","certificate":`+jsonStr(string(pair.CertPEM))+`,"privateKey":`+jsonStr(string(pair.KeyPEM))+`}`)
	c := api(t, s, "GET", "global/sslCertificates/shop-cert", "")
	if b, _ := json.Marshal(c); strings.Contains(string(b), "PRIVATE KEY") || c["type"] != "SELF_MANAGED" || c["expireTime"] == nil {
		t.Fatalf("certificate as read back (the key must never come back): %s", b)
	}
	api(t, s, "POST", "global/targetHttpsProxies", `{"name":"shop-proxy","urlMap":"global/urlMaps/shop-lb","sslCertificates":["global/sslCertificates/shop-cert"]}`)
	api(t, s, "POST", "global/forwardingRules", `{"name":"shop-fr","target":"global/targetHttpsProxies/shop-proxy","portRange":"443","loadBalancingScheme":"EXTERNAL_MANAGED"}`)
	ip := api(t, s, "GET", "global/forwardingRules/shop-fr", "")["IPAddress"].(string)

	// TLS ends at the load balancer with the plan's certificate.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Roots, ServerName: "shop.example.test"}}}
	resp, err := client.Get("https://" + net.JoinHostPort(ip, "443") + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(ServedByHeader) != "gcp" || !strings.Contains(string(b), "gcp shop-1") {
		t.Fatalf("through the HTTPS LB: %d %s %q", resp.StatusCode, resp.Header.Get(ServedByHeader), b)
	}
	// The certificate cannot go while the proxy uses it.
	refused(t, s, "DELETE", "global/sslCertificates/shop-cert", "", "resourceInUseByAnotherResource")

	// Google-managed certificates are issued by the fake's CA.
	api(t, s, "POST", "global/sslCertificates", `{"name":"managed","type":"MANAGED","managed":{"domains":["shop.example.test"]}}`)
	m := api(t, s, "GET", "global/sslCertificates/managed", "")
	if m["managed"].(map[string]any)["status"] != "ACTIVE" {
		t.Fatalf("managed certificate: %v", m)
	}
	proxy := api(t, s, "GET", "global/targetHttpsProxies/shop-proxy", "")
	api(t, s, "POST", "targetHttpsProxies/shop-proxy/setSslCertificates", `{"sslCertificates":["global/sslCertificates/managed"]}`)
	if proxy2 := api(t, s, "GET", "global/targetHttpsProxies/shop-proxy", ""); proxy2["fingerprint"] == proxy["fingerprint"] {
		t.Fatal("setSslCertificates kept the fingerprint")
	}
	roots := pair.Roots.Clone()
	roots.AppendCertsFromPEM(s.IssuerCA())
	client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "shop.example.test"}}
	resp, err = client.Get("https://" + ip + "/")
	if err != nil {
		t.Fatalf("with the managed certificate: %v", err)
	}
	resp.Body.Close()
	if len(resp.TLS.PeerCertificates) == 0 || resp.TLS.PeerCertificates[0].Issuer.CommonName != "gcpfake managed certificate CA" {
		t.Fatalf("served certificate issuer: %v", resp.TLS.PeerCertificates[0].Issuer)
	}
}

func TestInternalLoadBalancers(t *testing.T) {
	s, err := Start(Options{DataPlane: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := "regions/europe-west1/"
	ig := group(t, s, "ledger", 8080)
	api(t, s, "POST", r+"healthChecks", `{"name":"ledger-hc","httpHealthCheck":{"port":8080}}`)
	api(t, s, "POST", "global/healthChecks", `{"name":"global-hc","httpHealthCheck":{"port":8080}}`)
	refused(t, s, "POST", r+"backendServices", `{"name":"ledger-gcp","protocol":"HTTP","loadBalancingScheme":"INTERNAL_MANAGED","healthChecks":["global/healthChecks/global-hc"],"backends":[{"group":"`+ig+`"}]}`, "regional health check")
	api(t, s, "POST", r+"backendServices", `{"name":"ledger-gcp","portName":"http","protocol":"HTTP","loadBalancingScheme":"INTERNAL_MANAGED","healthChecks":["`+r+`healthChecks/ledger-hc"],"backends":[{"group":"`+ig+`","balancingMode":"UTILIZATION"}]}`)
	refused(t, s, "POST", r+"urlMaps", `{"name":"ledger-lb","defaultService":"global/backendServices/nothing"}`, "notFound")
	api(t, s, "POST", r+"urlMaps", `{"name":"ledger-lb","defaultRouteAction":{"weightedBackendServices":[{"backendService":"`+r+`backendServices/ledger-gcp","weight":100}]}}`)
	api(t, s, "POST", r+"targetHttpProxies", `{"name":"ledger-proxy","urlMap":"`+r+`urlMaps/ledger-lb"}`)
	rule := `{"name":"ledger-fr","target":"` + r + `targetHttpProxies/ledger-proxy","portRange":"80","loadBalancingScheme":"INTERNAL_MANAGED","network":"global/networks/default"}`
	// GCP refuses an internal Application LB without a proxy-only subnet.
	refused(t, s, "POST", r+"forwardingRules", rule, "proxy-only subnetwork")
	api(t, s, "POST", r+"subnetworks", `{"name":"proxy-only","network":"global/networks/default","ipCidrRange":"10.129.0.0/23","purpose":"REGIONAL_MANAGED_PROXY","role":"ACTIVE"}`)
	api(t, s, "POST", r+"forwardingRules", rule)
	ip := api(t, s, "GET", r+"forwardingRules/ledger-fr", "")["IPAddress"].(string)
	served, statuses, body := through(t, "http://"+ip, 10)
	if served["gcp"] != 10 || statuses[200] != 10 || !strings.Contains(body, "gcp ledger-1") {
		t.Fatalf("through the internal LB: %v %v %q", served, statuses, body)
	}

	// A passthrough Network LB: TCP to the instance's port, no URL map.
	db := group(t, s, "orders-db", 5432)
	api(t, s, "POST", r+"healthChecks", `{"name":"db-hc","tcpHealthCheck":{"port":5432}}`)
	refused(t, s, "POST", r+"backendServices", `{"name":"db","protocol":"TCP","loadBalancingScheme":"INTERNAL","healthChecks":["`+r+`healthChecks/db-hc"],"backends":[{"group":"`+db+`","balancingMode":"UTILIZATION"}]}`, "CONNECTION")
	api(t, s, "POST", r+"backendServices", `{"name":"db","protocol":"TCP","loadBalancingScheme":"INTERNAL","healthChecks":["`+r+`healthChecks/db-hc"],"backends":[{"group":"`+db+`","balancingMode":"CONNECTION"}]}`)
	// No weights on a passthrough load balancer.
	refused(t, s, "POST", r+"urlMaps", `{"name":"db-lb","defaultRouteAction":{"weightedBackendServices":[{"backendService":"`+r+`backendServices/db","weight":50},{"backendService":"`+r+`backendServices/ledger-gcp","weight":50}]}}`, "cannot split them by weight")
	um := api(t, s, "GET", r+"urlMaps/ledger-lb", "")
	refused(t, s, "PATCH", r+"urlMaps/ledger-lb", `{"fingerprint":"`+um["fingerprint"].(string)+`","defaultRouteAction":{"weightedBackendServices":[{"backendService":"`+r+`backendServices/db","weight":100}]}}`, "INTERNAL")
	refused(t, s, "POST", r+"forwardingRules", `{"name":"db-fr","backendService":"`+r+`backendServices/db","portRange":"5432","loadBalancingScheme":"INTERNAL"}`, "portRange")
	api(t, s, "POST", r+"forwardingRules", `{"name":"db-fr","backendService":"`+r+`backendServices/db","ports":["5432"],"loadBalancingScheme":"INTERNAL","IPProtocol":"TCP"}`)
	ip = api(t, s, "GET", r+"forwardingRules/db-fr", "")["IPAddress"].(string)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "5432"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	banner, _ := rd.ReadString('\n')
	io.WriteString(c, "SELECT 1\n")
	echo, _ := rd.ReadString('\n')
	if banner != "gcp orders-db-1\n" || echo != "SELECT 1\n" {
		t.Fatalf("through the passthrough LB: banner %q echo %q", banner, echo)
	}
	// A stopped backend: connections are refused or reset.
	api(t, s, "POST", "zones/europe-west1-b/instances/orders-db-1/stop", "")
	if c2, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "5432"), 2*time.Second); err == nil {
		c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		if line, _ := bufio.NewReader(c2).ReadString('\n'); line != "" {
			t.Fatalf("a stopped backend answered %q", line)
		}
		c2.Close()
	}
}
