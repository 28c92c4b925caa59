package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/api/dns/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

func TestClientDNSNamesAreMethods(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	for _, n := range []string{PrepareClientDNSName, PointClientDNSName, RestoreClientDNSName, FinalizeClientDNSName} {
		if _, ok := typ.MethodByName(n); !ok {
			t.Errorf("activity name %q has no method on *Activities", n)
		}
	}
}

const dnsProject = "ferry-clientdns"

func startClientDNSFake(t *testing.T) *gcpfake.Server {
	t.Helper()
	s, err := gcpfake.Start(gcpfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clientDNSRig: gcpfake with zone corp-internal holding the client name at
// the DC VIP, the app's global forwarding rule, and the fake's DNS server.
func clientDNSRig(t *testing.T) (*testsuite.TestActivityEnvironment, *gcpfake.DNSServer, plan.AppSpec, string) {
	t.Helper()
	ctx := context.Background()
	s := startClientDNSFake(t)
	g := gcp.Config{Project: dnsProject, Region: "europe-west1", Zone: "europe-west1-b", ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint()}
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(dnsProject, &dns.ManagedZone{Name: "corp-internal", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Changes.Create(dnsProject, "corp-internal", &dns.Change{Additions: []*dns.ResourceRecordSet{
		{Name: "billing.corp.example.", Type: "A", Ttl: 300, Rrdatas: []string{"10.20.30.40"}}}}).Do(); err != nil {
		t.Fatal(err)
	}
	fr, err := compute.NewGlobalForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	const lbIP = "34.120.7.7"
	op, err := fr.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: dnsProject, ForwardingRuleResource: &computepb.ForwardingRule{
		Name: proto.String(traffic.ForwardingRuleName("billing-api")), IPAddress: proto.String(lbIP), PortRange: proto.String("80"),
		LoadBalancingScheme: proto.String("EXTERNAL_MANAGED")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := s.ServeDNS("", dnsProject)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	spec := plan.AppSpec{Name: "billing-api", Project: dnsProject, Region: "europe-west1", Zone: "europe-west1-b",
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyLB, ClientDNS: []plan.ClientDNS{
			{Name: "billing.corp.example.", Zone: "corp-internal", Project: dnsProject, TTLDuring: 30 * time.Second}}}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Plans: testPlans, GCP: g})
	return env, d, spec, lbIP
}

func resolveA(t *testing.T, d *gcpfake.DNSServer, name string) (string, uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := d.Resolver().LookupHost(ctx, name)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("resolve %s: %v %v", name, addrs, err)
	}
	a, err := gcpfake.QueryDNS(ctx, d.Addr(), name, "A")
	if err != nil || len(a.Records) != 1 {
		t.Fatalf("query %s: %+v %v", name, a, err)
	}
	return addrs[0], a.Records[0].TTL
}

// The four activities in the order the workflow calls them, each result
// through Temporal's payloads, and a client resolving the name following.
func TestClientDNSActivities(t *testing.T) {
	env, d, spec, lbIP := clientDNSRig(t)
	ref := testRef(spec)
	run := func(name string, in, out any) {
		t.Helper()
		v, err := env.ExecuteActivity(name, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := v.Get(out); err != nil {
			t.Fatal(err)
		}
	}
	var prep PrepareClientDNSResult
	run(PrepareClientDNSName, ClientDNSInput{Plan: ref}, &prep)
	if len(prep.Names) != 1 || fmt.Sprint(prep.Names[0].Original) != fmt.Sprint([]traffic.DNSRecord{{Type: "A", TTL: 300, Rrdatas: []string{"10.20.30.40"}}}) ||
		prep.Wait < 290*time.Second || prep.Wait > 300*time.Second {
		t.Fatalf("prepare: %+v", prep)
	}
	if ip, ttl := resolveA(t, d, "billing.corp.example."); ip != "10.20.30.40" || ttl != 30 {
		t.Fatalf("after prepare: %s ttl %d", ip, ttl)
	}
	var pt PointClientDNSResult
	run(PointClientDNSName, ClientDNSInput{Plan: ref}, &pt)
	if !slices.Equal(pt.Serving.Addresses, []string{lbIP}) || !strings.Contains(pt.Serving.Via, "load balancer") {
		t.Fatalf("point: %+v", pt)
	}
	if ip, _ := resolveA(t, d, "billing.corp.example."); ip != lbIP {
		t.Fatalf("after point: %s", ip)
	}
	var rs ClientDNSResult
	run(RestoreClientDNSName, RestoreClientDNSInput{Plan: ref, Original: prep.Names}, &rs)
	if ip, ttl := resolveA(t, d, "billing.corp.example."); ip != "10.20.30.40" || ttl != 30 {
		t.Fatalf("after restore: %s ttl %d", ip, ttl)
	}
	run(FinalizeClientDNSName, FinalizeClientDNSInput{Plan: ref, Original: prep.Names}, &rs)
	if ip, ttl := resolveA(t, d, "billing.corp.example."); ip != "10.20.30.40" || ttl != 300 || !slices.Equal(rs.Names, []string{"billing.corp.example."}) {
		t.Fatalf("after finalize: %s ttl %d %+v", ip, ttl, rs)
	}

	// A payload cannot make ferry publish anything but addresses.
	bad := []traffic.ClientNameState{{Name: "billing.corp.example.", Original: []traffic.DNSRecord{{Type: "NS", TTL: 60, Rrdatas: []string{"ns.evil.example."}}}}}
	_, err := env.ExecuteActivity(RestoreClientDNSName, RestoreClientDNSInput{Plan: ref, Original: bad})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != string(runbooks.ReasonTrafficShift) {
		t.Fatalf("restore with an NS record: %v", err)
	}

	// An app without client names: nothing to do, no API dialled.
	var none PrepareClientDNSResult
	run(PrepareClientDNSName, ClientDNSInput{Plan: testRef(plan.AppSpec{Name: "no-names"})}, &none)
	if len(none.Names) != 0 || none.Wait != 0 {
		t.Fatalf("no names: %+v", none)
	}
}

// A zone ferry does not own: the app's client_dns hook gets each action in
// its environment and reports the original on prepare.
func TestClientDNSExternalHook(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "dns.sh")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
set -e
echo "$FERRY_DNS_ACTION $FERRY_DNS_NAME ttl=$FERRY_DNS_TTL addrs=$FERRY_DNS_ADDRESSES orig=$FERRY_DNS_ORIGINAL" >> "$LOG"
if [ "$FERRY_DNS_ACTION" = prepare ]; then
  echo '{"records":[{"type":"A","ttl":120,"rrdatas":["10.9.9.9"]}]}' > "$FERRY_DNS_RESULT"
fi
`), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "log")
	spec := plan.AppSpec{Name: "legacy", Project: "p",
		Hooks: []plan.HookSpec{{Name: "infoblox", At: plan.HookClientDNS, Command: []string{script}, Timeout: time.Minute, Env: map[string]string{"LOG": log}}},
		VMs:   []plan.VMSpec{{Name: "legacy-1", GCEName: "legacy-1"}},
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyDNS, ClientDNS: []plan.ClientDNS{
			{Name: "legacy.old.example.", ExternalHook: "infoblox", TTLDuring: 20 * time.Second}}}}
	s := startClientDNSFake(t)
	g := gcp.Config{Project: "p", Region: "europe-west1", Zone: "europe-west1-b", ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint()}
	ic, err := compute.NewInstancesRESTClient(context.Background(), g.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	op, err := ic.Insert(context.Background(), &computepb.InsertInstanceRequest{Project: "p", Zone: g.Zone, InstanceResource: &computepb.Instance{
		Name: proto.String("legacy-1"), MachineType: proto.String("e2-small"),
		Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), InitializeParams: &computepb.AttachedDiskInitializeParams{
			SourceImage: proto.String("projects/debian-cloud/global/images/debian-12")}}},
		NetworkInterfaces: []*computepb.NetworkInterface{{NetworkIP: proto.String("10.128.0.9")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Plans: testPlans, GCP: g, Hooks: hooks.Config{MaxOutputBytes: 4096}})
	ref := testRef(spec)

	v, err := env.ExecuteActivity(PrepareClientDNSName, ClientDNSInput{Plan: ref})
	if err != nil {
		t.Fatal(err)
	}
	var prep PrepareClientDNSResult
	if err := v.Get(&prep); err != nil {
		t.Fatal(err)
	}
	if len(prep.Names) != 1 || prep.Names[0].Original[0].TTL != 120 || prep.Wait < 110*time.Second {
		t.Fatalf("prepare: %+v", prep)
	}
	for _, step := range []struct {
		name string
		in   any
	}{
		{PointClientDNSName, ClientDNSInput{Plan: ref}},
		{RestoreClientDNSName, RestoreClientDNSInput{Plan: ref, Original: prep.Names}},
		{FinalizeClientDNSName, FinalizeClientDNSInput{Plan: ref, Original: prep.Names}},
	} {
		if _, err := env.ExecuteActivity(step.name, step.in); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	b, _ := os.ReadFile(log)
	orig := `orig={"records":[{"type":"A","ttl":120,"rrdatas":["10.9.9.9"]}]}`
	want := []string{
		"prepare legacy.old.example. ttl=20 addrs= orig=",
		"point legacy.old.example. ttl=20 addrs=10.128.0.9 orig=", // no load balancer: the front end
		"restore legacy.old.example. ttl=20 addrs= " + orig,
		"finalize legacy.old.example. ttl=120 addrs= " + orig,
	}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !slices.Equal(got, want) {
		t.Fatalf("hook calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A hook that does not report the original fails prepare, saying how.
	spec.Hooks[0].Command = []string{"true"}
	_, err = env.ExecuteActivity(PrepareClientDNSName, ClientDNSInput{Plan: testRef(spec)})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || !strings.Contains(err.Error(), "FERRY_DNS_RESULT") {
		t.Fatalf("silent hook: %v", err)
	}
}
