package sample

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// FlowHeader is the header of the flow CSV, the format `ferry deps --flows`
// reads (a flattened NSX/NetFlow export).
var FlowHeader = []string{"src_ip", "dst_ip", "dst_port", "protocol", "bytes", "packets", "first_seen", "last_seen"}

// flowEpoch anchors generated timestamps so output is reproducible.
var flowEpoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// External endpoints seen in the sample: users on the internet reaching
// the storefront, and SaaS the apps call.
var (
	internetClients = []string{"203.0.113.10", "203.0.113.57", "198.51.100.23"}
	saasEndpoints   = map[string][2]string{ // app -> {ip, port}
		"billing-api": {"198.51.100.80", "443"}, // payment gateway
		"mail-relay":  {"192.0.2.25", "25"},     // upstream smarthost
		"reporting":   {"192.0.2.140", "443"},   // BI SaaS
	}
)

// WriteFlows writes observed connections as CSV: every app to each app it
// depends on, traffic inside each multi-VM app, clients from the internet
// to the storefront and calls out to external services. Rows are
// deterministic for the portfolio's seed.
func (p *Portfolio) WriteFlows(w io.Writer) error {
	rng := rand.New(rand.NewPCG(uint64(p.seed), 0xf10))
	cw := csv.NewWriter(w)
	if err := cw.Write(FlowHeader); err != nil {
		return err
	}
	row := func(src, dst string, port int) error {
		packets := 200 + rng.IntN(50000)
		bytes := packets * (300 + rng.IntN(1100))
		first := flowEpoch.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		last := first.Add(time.Duration(1+rng.IntN(14*24*60)) * time.Minute)
		return cw.Write([]string{src, dst, strconv.Itoa(port), "tcp",
			strconv.Itoa(bytes), strconv.Itoa(packets), first.Format(time.RFC3339), last.Format(time.RFC3339)})
	}
	for _, a := range p.Apps {
		// Every VM of the app calls one VM of each dependency on its
		// first port (round-robin spreads the load as a balancer would).
		for _, dn := range a.DependsOn {
			d := p.App(dn)
			if d == nil || len(d.VMs) == 0 {
				continue
			}
			for i, v := range a.VMs {
				dst := d.VMs[i%len(d.VMs)]
				if err := row(v.IP, dst.IP, firstPort(dst)); err != nil {
					return err
				}
			}
		}
		// Intra-app: each VM talks to the next (replication, clustering).
		if len(a.VMs) > 1 {
			for i, v := range a.VMs {
				dst := a.VMs[(i+1)%len(a.VMs)]
				if err := row(v.IP, dst.IP, firstPort(dst)); err != nil {
					return err
				}
			}
		}
		if ep, ok := saasEndpoints[a.Name]; ok {
			port, _ := strconv.Atoi(ep[1])
			if err := row(a.VMs[0].IP, ep[0], port); err != nil {
				return err
			}
		}
		if a.Name == "web-portal" {
			for i, c := range internetClients {
				if err := row(c, a.VMs[i%len(a.VMs)].IP, 443); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write flows: %w", err)
	}
	return nil
}

func firstPort(v VM) int {
	if len(v.Ports) == 0 {
		return 443
	}
	return v.Ports[0]
}
