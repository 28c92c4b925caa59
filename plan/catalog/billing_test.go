package catalog

import (
	"testing"
	"time"

	"cloud.google.com/go/billing/apiv1/billingpb"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The SKU descriptions FromBilling reads and those it must skip, as the
// Compute Engine service words them. FromBilling against the real client
// and gcpfake is tested in gcpfake (TestBillingPricesEqualTheSnapshot).
func TestInstanceSKUDescriptions(t *testing.T) {
	for desc, want := range map[string][2]string{
		"N2 Instance Core running in Americas":              {"N2", "Core"},
		"N2D AMD Instance Ram running in Belgium":           {"N2D", "Ram"},
		"N1 Predefined Instance Core running in Virginia":   {"N1", "Core"},
		"E2 Instance Ram running in Sao Paulo":              {"E2", "Ram"},
		"C4A Arm Instance Core running in Frankfurt":        {"C4A", "Core"},
		"Spot Preemptible N2 Instance Core running in EMEA": {},
		"N2 Custom Instance Core running in Americas":       {},
		"Custom Instance Core running in Americas":          {},
		"N2 Custom Extended Instance Ram running in Paris":  {},
		"Commitment v1: N2 Cpu in Americas for 1 Year":      {},
		"Sole Tenancy Instance Ram running in Jakarta":      {},
		"Memory-optimized Instance Core running in Tokyo":   {},
		"Compute optimized Core running in Americas":        {},
	} {
		m := instanceSKURE.FindStringSubmatch(desc)
		var got [2]string
		if m != nil {
			got = [2]string{m[1], m[2]}
		}
		if got != want {
			t.Errorf("%q: %v, want %v", desc, got, want)
		}
	}
	for desc, want := range map[string]bool{
		"Licensing Fee for Windows Server 2022 Datacenter Edition (CPU cost)": true,
		"Licensing Fee for Windows Server 2022 Datacenter Edition (RAM cost)": false,
		"Licensing Fee for Windows Server 2019 BYOL (CPU cost)":               false,
	} {
		if windowsCPURE.MatchString(desc) != want {
			t.Errorf("%q: match %v", desc, !want)
		}
	}
}

// unitPriceUSD takes the newest pricing info's first tier, in USD only.
func TestUnitPriceUSD(t *testing.T) {
	at := func(d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC))
	}
	pi := func(when *timestamppb.Timestamp, cur string, tiers ...float64) *billingpb.PricingInfo {
		var rates []*billingpb.PricingExpression_TierRate
		for i := 0; i+1 < len(tiers); i += 2 {
			rates = append(rates, &billingpb.PricingExpression_TierRate{StartUsageAmount: tiers[i],
				UnitPrice: &money.Money{CurrencyCode: cur, Units: int64(tiers[i+1]), Nanos: int32((tiers[i+1] - float64(int64(tiers[i+1]))) * 1e9)}})
		}
		return &billingpb.PricingInfo{EffectiveTime: when, PricingExpression: &billingpb.PricingExpression{UsageUnit: "h", TieredRates: rates}}
	}
	s := &billingpb.Sku{PricingInfo: []*billingpb.PricingInfo{pi(at(2), "USD", 0, 0.5), pi(at(20), "USD", 100, 0.1, 0, 1.25), pi(at(9), "USD", 0, 0.75)}}
	if usd, unit, ok := unitPriceUSD(s); !ok || usd != 1.25 || unit != "h" {
		t.Errorf("newest first tier: %v %q %v", usd, unit, ok)
	}
	if _, _, ok := unitPriceUSD(&billingpb.Sku{PricingInfo: []*billingpb.PricingInfo{pi(at(2), "EUR", 0, 0.5)}}); ok {
		t.Error("a EUR price was taken as USD")
	}
	if _, _, ok := unitPriceUSD(&billingpb.Sku{}); ok {
		t.Error("a SKU without pricing info has a price")
	}
}
