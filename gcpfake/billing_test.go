package gcpfake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"

	billing "cloud.google.com/go/billing/apiv1"
	"cloud.google.com/go/billing/apiv1/billingpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

func billingClient(t *testing.T, endpoint string) *billing.CloudCatalogClient {
	t.Helper()
	cl, err := billing.NewCloudCatalogClient(context.Background(), gcp.Config{BillingEndpoint: endpoint}.BillingOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestBillingPricesEqualTheSnapshot reads the fake's SKUs with the real
// client through catalog.FromBilling: every machine type of every family
// in every region, the Windows licence, disks and forwarding rules cost
// what the snapshot says, and every machine price came from the API.
func TestBillingPricesEqualTheSnapshot(t *testing.T) {
	s := StartT(t, Options{})
	cat, err := catalog.FromBilling(context.Background(), billingClient(t, s.BillingEndpoint()), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := catalog.Default()
	if len(cat.Billing.Notes) > 0 {
		t.Errorf("notes: %q", cat.Billing.Notes)
	}
	if !strings.HasPrefix(cat.PriceSource, "Cloud Billing Catalog API ") || !strings.Contains(cat.Source(), "SKUs") {
		t.Errorf("source %q / %q", cat.PriceSource, cat.Source())
	}
	n := 0
	for _, region := range snap.RegionNames() {
		for _, fam := range snap.FamilyNames() {
			if !cat.MachinePricedByAPI(fam, region) {
				t.Errorf("%s in %s not priced by the API", fam, region)
			}
			for _, mt := range snap.MachineTypes(fam) {
				if got, want := cat.HourlyUSD(mt, region), snap.HourlyUSD(mt, region); !near(got, want) {
					t.Errorf("%s in %s: API %.9f, snapshot %.9f", mt.Name, region, got, want)
				}
				n++
			}
		}
		for _, d := range []string{"pd-standard", "pd-balanced", "pd-ssd"} {
			if got, want := cat.DiskMonthlyUSD(d, region, 100), snap.DiskMonthlyUSD(d, region, 100); !near(got, want) {
				t.Errorf("%s in %s: API %.6f, snapshot %.6f", d, region, got, want)
			}
		}
	}
	micro, _ := snap.Lookup("e2-micro")
	if got, want := cat.HourlyUSD(micro, "europe-west3"), snap.HourlyUSD(micro, "europe-west3"); !near(got, want) {
		t.Errorf("e2-micro (a quarter of a vCPU): API %.9f, snapshot %.9f", got, want)
	}
	n2, _ := snap.Lookup("n2-standard-8")
	if got, want := cat.WindowsHourlyUSD(n2), snap.WindowsHourlyUSD(n2); !near(got, want) || got == 0 {
		t.Errorf("Windows on n2-standard-8: API %.4f, snapshot %.4f", got, want)
	}
	if got, want := cat.WindowsHourlyUSD(micro), snap.WindowsHourlyUSD(micro); !near(got, want) {
		t.Errorf("Windows on e2-micro: API %.4f, snapshot %.4f", got, want)
	}
	if got, want := cat.ForwardingRulesHourlyUSD(7), snap.ForwardingRulesHourlyUSD(7); !near(got, want) {
		t.Errorf("7 forwarding rules: API %.4f, snapshot %.4f", got, want)
	}
	t.Logf("%d machine type prices compared; %s", n, cat.Source())
}

// TestBillingPriceChange: a price Google changes is the price ferry uses,
// in that family and location only; a family whose SKUs are gone keeps
// the snapshot's price, though spot, commitment and custom SKUs of it
// are still listed, and says so.
func TestBillingPriceChange(t *testing.T) {
	ctx := context.Background()
	s := StartT(t, Options{})
	if err := s.Billing().SetUnitPrice(catalog.ComputeEngineService, "N2 Instance Core running in Belgium", 0.05); err != nil {
		t.Fatal(err)
	}
	if !s.Billing().RemoveSKU(catalog.ComputeEngineService, "N4 Instance Core running in Belgium") {
		t.Fatal("no N4 core SKU in Belgium")
	}
	cat, err := catalog.FromBilling(ctx, billingClient(t, s.BillingEndpoint()), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := catalog.Default()
	n2, _ := snap.Lookup("n2-standard-4")
	want := 4*0.05 + 16*snap.Families["n2"].GBHourUSD*1.1
	if got := cat.HourlyUSD(n2, "europe-west1"); !near(got, want) {
		t.Errorf("n2-standard-4 in europe-west1: %.6f, want %.6f", got, want)
	}
	if got, want := cat.HourlyUSD(n2, "us-central1"), snap.HourlyUSD(n2, "us-central1"); !near(got, want) {
		t.Errorf("n2-standard-4 in us-central1 moved: %.6f, want %.6f", got, want)
	}
	n4, _ := snap.Lookup("n4-standard-4")
	if cat.MachinePricedByAPI("n4", "europe-west1") || !cat.MachinePricedByAPI("n4", "europe-west4") {
		t.Error("n4 in europe-west1 should fall back to the snapshot, europe-west4 not")
	}
	if got, want := cat.HourlyUSD(n4, "europe-west1"), snap.HourlyUSD(n4, "europe-west1"); !near(got, want) {
		t.Errorf("n4-standard-4 in europe-west1: %.6f, want the snapshot's %.6f", got, want)
	}
}

// TestBillingPagination: Compute Engine lists tens of thousands of SKUs;
// FromBilling reads every page (5,000 each), and a page token is only good
// for the listing that returned it.
func TestBillingPagination(t *testing.T) {
	ctx := context.Background()
	s := StartT(t, Options{})
	const filler = 12000
	for i := range filler {
		s.Billing().AddSKU(catalog.ComputeEngineService, sku(fmt.Sprintf("Network Internet Data Transfer Out from Zone %d to Americas", i),
			"Network", "PremiumInternetEgress", "OnDemand", []string{"us-central1"}, 0.12, perGiB))
	}
	// The instance SKUs last, on the last page.
	s.Billing().AddSKU(catalog.ComputeEngineService, computeSKU("N2 Instance Core running in Singapore", "CPU", "OnDemand", []string{"asia-southeast1"}, 0.07, perHour))
	cl := billingClient(t, s.BillingEndpoint())
	cat, err := catalog.FromBilling(ctx, cl, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := len(s.Billing().SKUs(catalog.ComputeEngineService)) + len(s.Billing().SKUs(catalog.NetworkingService))
	if cat.Billing.SKUs != total {
		t.Errorf("read %d SKUs, the fake holds %d", cat.Billing.SKUs, total)
	}
	pages := (len(s.Billing().SKUs(catalog.ComputeEngineService)) + 4999) / 5000
	if got := s.BillingCalls("ListSkus"); got != pages+1 || pages < 3 {
		t.Errorf("ListSkus calls: %d, want %d pages of Compute Engine + 1 of Networking", got, pages)
	}
	if got := cat.Billing.Core["n2"]["asia-southeast1"]; got != 0.07 {
		t.Errorf("n2 core in asia-southeast1 from the last page: %v", got)
	}

	// A client's own page size and the next_page_token.
	it := cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: catalog.NetworkingService, PageSize: 7})
	first, err := iterator.NewPager(it, 7, "").NextPage(&[]*billingpb.Sku{})
	if err != nil || first == "" {
		t.Fatalf("first page of 7: token %q, %v", first, err)
	}
	seen := 0
	it = cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: catalog.NetworkingService, PageSize: 7})
	for {
		_, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen++
	}
	if want := len(s.Billing().SKUs(catalog.NetworkingService)); seen != want {
		t.Errorf("paged through %d of %d Networking SKUs", seen, want)
	}
	_, err = cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: catalog.ComputeEngineService, PageToken: first}).Next()
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Networking's page token on Compute Engine: %v, want InvalidArgument", err)
	}
	_, err = cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: catalog.ComputeEngineService, PageToken: "not-a-token"}).Next()
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a made-up page token: %v, want InvalidArgument", err)
	}
}

// TestBillingRefusals: the real API's errors for names it does not know,
// and ListServices.
func TestBillingRefusals(t *testing.T) {
	ctx := context.Background()
	s := StartT(t, Options{})
	cl := billingClient(t, s.BillingEndpoint())
	for _, c := range []struct {
		parent string
		code   codes.Code
	}{
		{"services/0000-0000-0000", codes.NotFound},
		{"services/compute", codes.InvalidArgument},
		{"6F81-5844-456A", codes.InvalidArgument},
		{"", codes.InvalidArgument},
	} {
		if _, err := cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: c.parent}).Next(); status.Code(err) != c.code {
			t.Errorf("ListSkus %q: %v, want %v", c.parent, err, c.code)
		}
	}
	names := map[string]string{}
	it := cl.ListServices(ctx, &billingpb.ListServicesRequest{PageSize: 2})
	for {
		svc, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[svc.GetName()] = svc.GetDisplayName()
	}
	if names[catalog.ComputeEngineService] != "Compute Engine" || names[catalog.NetworkingService] != "Networking" || len(names) != len(billingServices) {
		t.Errorf("services: %v", names)
	}
}

// TestBillingUnavailable: an API that cannot be reached or refuses the
// caller is an error naming it; the CLI falls back to the snapshot (see
// cmd/ferry TestPlanPricesFromBillingAPI).
func TestBillingUnavailable(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, err = catalog.FromBilling(ctx, billingClient(t, closed), nil)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "Cloud Billing Catalog API") {
		t.Errorf("unreachable: %v", err)
	}

	s := StartT(t, Options{})
	if err := s.Faults().Add(Fault{PathRegexp: "CloudCatalog/ListSkus", Status: 403}); err != nil {
		t.Fatal(err)
	}
	_, err = catalog.FromBilling(ctx, billingClient(t, s.BillingEndpoint()), nil)
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("denied: %v", err)
	}
}
