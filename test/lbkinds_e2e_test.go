package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestInternalLoadBalancersEndToEnd runs the dev plan's apps behind the
// internal load balancers on the dev stack (real worker, terraform and
// google provider, gcpfake's data plane and DNS server): ledger-service
// (internal Application LB) is cut over in weighted steps on its region
// URL map and message-queue (passthrough Network LB) in one DNS step;
// clients resolving message-queue's name through the stack's DNS server
// reach GCP after the cutover and the datacenter after the rollback; both
// roll back with the strategy of their kind.
func TestInternalLoadBalancersEndToEnd(t *testing.T) {
	st := e2eStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	ledger, mq := spec(t, st, devstack.DevInternalHTTPApp), spec(t, st, devstack.DevInternalTCPApp)
	if ledger.Cutover.LoadBalancer() != plan.LBInternalHTTP || mq.Cutover.LoadBalancer() != plan.LBInternalTCP || len(mq.Cutover.Steps) != 1 {
		t.Fatalf("dev plan: %s %+v, %s %+v steps %v", ledger.Name, ledger.Cutover.LB, mq.Name, mq.Cutover.LB, mq.Cutover.Steps)
	}
	k := devKeys(st.StateDir)
	start(ctx, t, st, ledger)
	start(ctx, t, st, mq)
	errs := make(chan error, 2)
	for _, s := range []plan.AppSpec{ledger, mq} {
		go func() {
			d := &driver{c: st.C, keys: k}
			_, err := d.run(ctx, s.Name, workflows.StageApproveDecommission)
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	um, err := compute.NewRegionUrlMapsRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer um.Close()
	weights := func() (dc, gcp uint32) {
		m, err := um.Get(ctx, &computepb.GetRegionUrlMapRequest{Project: ledger.Project, Region: ledger.Region, UrlMap: traffic.URLMapName(ledger.Name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range m.GetDefaultRouteAction().GetWeightedBackendServices() {
			switch {
			case strings.HasSuffix(w.GetBackendService(), "/"+traffic.DCBackendName(ledger.Name)):
				dc = w.GetWeight()
			case strings.HasSuffix(w.GetBackendService(), "/"+traffic.GCPBackendName(ledger.Name)):
				gcp = w.GetWeight()
			}
		}
		return dc, gcp
	}
	rules, err := compute.NewForwardingRulesRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Close()
	ruleIP := func(s plan.AppSpec) string {
		fr, err := rules.Get(ctx, &computepb.GetForwardingRuleRequest{Project: s.Project, Region: s.Region, ForwardingRule: traffic.ForwardingRuleName(s.Name)})
		if err != nil {
			t.Fatal(err)
		}
		return fr.GetIPAddress()
	}
	served := func(url string) string {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get(gcpfake.ServedByHeader)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, st.DNSAddr)
	}}
	resolve := func() []string {
		addrs, err := r.LookupHost(ctx, mq.Cutover.DNS.Name)
		if err != nil {
			t.Fatalf("resolve %s: %v", mq.Cutover.DNS.Name, err)
		}
		return addrs
	}

	ledgerURL := fmt.Sprintf("http://%s:%d/", ruleIP(ledger), ledger.Cutover.FrontendPort())
	if dc, gcp := weights(); dc != 0 || gcp != 100 {
		t.Errorf("%s after the cutover: region URL map dc=%d gcp=%d", ledger.Name, dc, gcp)
	}
	if side := served(ledgerURL); side != "gcp" {
		t.Errorf("%s after the cutover: served by %q", ledger.Name, side)
	}
	mqIP := ruleIP(mq)
	if got := resolve(); len(got) != 1 || got[0] != mqIP {
		t.Errorf("%s after the cutover resolves to %v, want the passthrough LB %s", mq.Cutover.DNS.Name, got, mqIP)
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(resolve()[0], fmt.Sprint(mq.Cutover.FrontendPort())), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(line, "gcp ") {
		t.Errorf("a client of %s reaches %q after the cutover", mq.Name, line)
	}

	for _, s := range []plan.AppSpec{ledger, mq} {
		if _, err := rollbackAs(ctx, st.C, s.Name, s.Approvers["cutover"][0], k, "e2e: roll back "+s.Name); err != nil {
			t.Fatal(err)
		}
		d := &driver{c: st.C, keys: k}
		if out, err := d.run(ctx, s.Name, ""); err != nil || out != workflows.StageRolledBack {
			t.Fatalf("%s: rollback ended %q %v", s.Name, out, err)
		}
	}
	if dc, gcp := weights(); dc != 100 || gcp != 0 {
		t.Errorf("%s after the rollback: dc=%d gcp=%d", ledger.Name, dc, gcp)
	}
	if side := served(ledgerURL); side != "dc" {
		t.Errorf("%s after the rollback: served by %q", ledger.Name, side)
	}
	var dcHosts []string
	for _, ep := range mq.Cutover.DCEndpoints {
		h, _, _ := net.SplitHostPort(ep)
		dcHosts = append(dcHosts, h)
	}
	if got := resolve(); strings.Join(got, ",") != strings.Join(dcHosts, ",") {
		t.Errorf("%s after the rollback resolves to %v, want the datacenter %v", mq.Cutover.DNS.Name, got, dcHosts)
	}
}
