package traffic_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/testcert"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// The probes resolve the app's names through Config.Resolver: the SLO
// gate reaches https://shop.corp.example/ where the zone served by
// gcpfake's DNS server points it, verifies the certificate against that
// name with Config.ProbeRootCAs, and follows a change of the record; a
// tcp:// target and a tcp health check resolve the same way.
func TestProbeResolvesThroughResolver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const name = "shop.corp.example"
	pair := testcert.New(t, name)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pair.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "shop") }))
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	app.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused without the CA
	app.StartTLS()
	t.Cleanup(app.Close)
	_, port, _ := net.SplitHostPort(app.Listener.Addr().String())
	db, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	go func() {
		for {
			c, err := db.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = bufio.NewReader(c).ReadByte() }() // holds the connection, as a database does
		}
	}()
	_, dbPort, _ := net.SplitHostPort(db.Addr().String())

	fake := gcpfake.StartT(t, gcpfake.Options{})
	g := gcp.Config{Project: project, ComputeEndpoint: fake.ComputeEndpoint(), DNSEndpoint: fake.DNSEndpoint()}
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}
	point := func(ip string) {
		t.Helper()
		ch := &dns.Change{Additions: []*dns.ResourceRecordSet{{Name: name + ".", Type: "A", Ttl: 5, Rrdatas: []string{ip}}}}
		if rr, err := svc.ResourceRecordSets.Get(project, "corp", name+".", "A").Do(); err == nil {
			ch.Deletions = []*dns.ResourceRecordSet{rr}
		}
		if _, err := svc.Changes.Create(project, "corp", ch).Do(); err != nil {
			t.Fatal(err)
		}
	}
	point("127.0.0.1")
	srv, err := fake.ServeDNS("")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	url := "https://" + net.JoinHostPort(name, port) + "/"
	targets := []traffic.Target{{Name: "public", URL: url}, {Name: "db", URL: "tcp://" + net.JoinHostPort(name, dbPort)}}
	slo := plan.SLO{Requests: 5}
	cfg := traffic.Config{ProbeRootCAs: caFile, Resolver: srv.Addr(), ProbeTimeout: 2 * time.Second}
	v, err := traffic.NewProbe(cfg).Gate(ctx, slo, targets)
	if err != nil || !v.Pass || v.Requests != 10 {
		t.Fatalf("through the resolver: %+v %v", v, err)
	}

	// The same name through the system's resolver does not exist.
	sys := cfg
	sys.Resolver = ""
	if v, err := traffic.NewProbe(sys).Gate(ctx, slo, targets[:1]); err != nil || v.Pass {
		t.Errorf("through the system's resolver: %+v %v", v, err)
	}
	// Without the CA the certificate is not trusted.
	noCA := cfg
	noCA.ProbeRootCAs = ""
	if v, err := traffic.NewProbe(noCA).Gate(ctx, slo, targets[:1]); err != nil || v.Pass || !strings.Contains(v.Reason, "certificate") {
		t.Errorf("without the CA: %+v %v", v, err)
	}

	// A tcp health check of an instance known by name.
	hc := plan.HealthCheck{Protocol: "tcp", Port: mustAtoi(t, dbPort)}
	if h := traffic.NewProbe(cfg).CheckInstances(ctx, hc, []traffic.Instance{{Name: "db-1", Status: "RUNNING", Address: name}}); !h[0].Healthy {
		t.Errorf("tcp health check by name: %+v", h[0])
	}

	// The record moves (nothing answers on 127.0.0.2): the gate follows.
	point("127.0.0.2")
	v, err = traffic.NewProbe(cfg).Gate(ctx, slo, targets)
	if err != nil || v.Pass {
		t.Fatalf("after the record moved: %+v %v", v, err)
	}
	for _, m := range v.Targets {
		if m.Errors != m.Requests {
			t.Errorf("after the record moved, %s: %d of %d failed (%s)", m.Target, m.Errors, m.Requests, m.FirstError)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConfigFromEnv(t *testing.T) {
	pair := testcert.New(t, "shop.corp.example")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pair.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		resolver, cas, want, err string
	}{
		{"", "", "", ""},
		{"10.0.0.53", ca, "10.0.0.53:53", ""},
		{"10.0.0.53:5353", "", "10.0.0.53:5353", ""},
		{"fd00::53", "", "[fd00::53]:53", ""},
		{"[fd00::53]:53", "", "[fd00::53]:53", ""},
		{"dns.corp.example:53", "", "dns.corp.example:53", ""},
		{"10.0.0.53:dns", "", "", "not a port"},
		{":53", "", "", "names no host"},
		{"http://10.0.0.53/", "", "", "not host:port"},
		{"", filepath.Join(t.TempDir(), "missing.pem"), "", "read the probes' CA certificates"},
		{"", notPEM, "", "holds no PEM certificate"},
	} {
		t.Setenv(traffic.EnvResolver, c.resolver)
		t.Setenv(traffic.EnvProbeRootCAs, c.cas)
		got, err := traffic.ConfigFromEnv()
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q %q: error %v, want %q", c.resolver, c.cas, err, c.err)
		case c.err == "" && (err != nil || got.Resolver != c.want || got.ProbeRootCAs != c.cas):
			t.Errorf("%q %q: %+v %v, want resolver %q", c.resolver, c.cas, got, err, c.want)
		}
	}
}

// The worker's other probe settings come from its environment too, and a
// bad value stops it at start with the variable and what it wants.
func TestConfigFromEnvProbeSettings(t *testing.T) {
	for _, c := range []struct {
		env, val, err string
		check         func(traffic.Config) bool
	}{
		{traffic.EnvProbeTimeout, "12s", "", func(c traffic.Config) bool { return c.ProbeTimeout == 12*time.Second }},
		{traffic.EnvProbeTimeout, "soon", "FERRY_PROBE_TIMEOUT=\"soon\": want a duration", nil},
		{traffic.EnvProbeTimeout, "1h", "between 1ms and 5m", nil},
		{traffic.EnvProbeConcurrency, "32", "", func(c traffic.Config) bool { return c.ProbeConcurrency == 32 }},
		{traffic.EnvProbeConcurrency, "0", "FERRY_PROBE_CONCURRENCY=\"0\": want a whole number from 1 to 256", nil},
		{traffic.EnvConflictRetries, "3", "", func(c traffic.Config) bool { return c.ConflictRetries == 3 }},
		{traffic.EnvConflictRetries, "-1", "from 1 to 100", nil},
		{traffic.EnvInstanceAddress, "internal", "", func(c traffic.Config) bool { return c.InstanceAddress == "internal" }},
		{traffic.EnvInstanceAddress, "public", "want internal or external", nil},
	} {
		t.Run(c.env+"="+c.val, func(t *testing.T) {
			t.Setenv(c.env, c.val)
			got, err := traffic.ConfigFromEnv()
			switch {
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want %q", err, c.err)
			case c.err == "" && (err != nil || !c.check(got)):
				t.Errorf("%+v %v", got, err)
			}
		})
	}
}
