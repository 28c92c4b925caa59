package deps

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, in string, maxErr int) ([]Flow, []ParseError, error) {
	t.Helper()
	return ParseFlows(strings.NewReader(in), "flows.csv", ParseOptions{MaxErrors: maxErr})
}

func TestParseCanonical(t *testing.T) {
	in := "src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n" +
		"10.0.0.1,10.0.0.2,443,tcp,1000,10,2026-01-02T03:04:05Z,2026-01-02T04:04:05Z\n" +
		"\n# a comment\n" +
		"::ffff:10.0.0.3,10.0.0.2,53,UDP,20,1,,\r\n"
	flows, errs, err := parse(t, in, 0)
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	if len(flows) != 2 {
		t.Fatalf("got %d flows", len(flows))
	}
	f := flows[0]
	want := Flow{SrcIP: "10.0.0.1", DstIP: "10.0.0.2", DstPort: 443, Protocol: "tcp", Bytes: 1000, Packets: 10, Count: 1,
		FirstSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), LastSeen: time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC)}
	if f != want {
		t.Errorf("flow 0 = %+v, want %+v", f, want)
	}
	if flows[1].SrcIP != "10.0.0.3" || flows[1].Protocol != "udp" || flows[1].DstPort != 53 {
		t.Errorf("flow 1 = %+v (IPv4-mapped address must be unmapped)", flows[1])
	}
}

func TestParseNSX(t *testing.T) {
	in := "\ufeffSource,Source IP,Destination,Destination IP,Destination Port,Protocol,Bytes,Packets,Session Count,First Seen,Last Seen\n" +
		`"web-1",10.1.0.5,"Oracle ""prod""",192.168.9.9,1521,TCP,5000,40,7,2026-03-01 10:00:00,2026-03-01 11:00:00` + "\n" +
		"10.1.0.6,10.1.0.6,dns,8.8.8.8,TCP/53,TCP,1,1,1,1767225600,1767225660\n"
	flows, errs, err := parse(t, in, 0)
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	if flows[0].SrcName != "web-1" || flows[0].DstName != `Oracle "prod"` || flows[0].Count != 7 || flows[0].DstPort != 1521 {
		t.Errorf("flow 0 = %+v", flows[0])
	}
	if flows[1].DstPort != 53 || flows[1].FirstSeen != time.Unix(1767225600, 0).UTC() {
		t.Errorf("flow 1 = %+v", flows[1])
	}
}

func TestParseNfdump(t *testing.T) {
	// nfdump -o csv: the header, records, then a Summary block.
	in := "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n" +
		"2026-05-15 12:35:53,2026-05-15 12:36:10,17.000,10.2.0.1,10.2.0.2,51234,5432,TCP,.AP.SF,0,0,12,3400,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,127.0.0.1,0/0,1,2026-05-15 12:36:11.123\n" +
		"2026-05-15 12:35:53.250,2026-05-15 12:35:53.250,0.000,10.2.0.1,10.2.0.9,0,8.0,ICMP,......,0,0,1,84,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,127.0.0.1,0/0,1,2026-05-15 12:36:11.123\n" +
		"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n2,3484,13,0,0,268\n"
	flows, errs, err := parse(t, in, 0)
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	if len(flows) != 2 {
		t.Fatalf("got %d flows, want 2 (the summary is not a record)", len(flows))
	}
	if f := flows[0]; f.SrcIP != "10.2.0.1" || f.DstIP != "10.2.0.2" || f.DstPort != 5432 || f.Bytes != 3400 || f.Packets != 12 ||
		f.FirstSeen != time.Date(2026, 5, 15, 12, 35, 53, 0, time.UTC) {
		t.Errorf("flow 0 = %+v", f)
	}
	if f := flows[1]; f.Protocol != "icmp" || f.DstPort != 0 || f.FirstSeen.Nanosecond() != 250e6 {
		t.Errorf("flow 1 = %+v", f)
	}
}

func TestParseSS(t *testing.T) {
	in := "# ferry-ss host=db-1 time=2026-02-01T00:00:00Z\n" +
		"State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
		"LISTEN 0      128    0.0.0.0:5432       0.0.0.0:*\n" +
		"LISTEN 0      128    [::]:22            [::]:*\n" +
		"ESTAB  0      0      10.0.0.9:5432      10.0.0.1:40000\n" +
		"ESTAB  0      0      10.0.0.9:41000     10.0.0.7:443\n" +
		"ESTAB  0      0      [::ffff:10.0.0.9]:22 [fe80::1%eth0]:50000\n"
	flows, errs, err := parse(t, in, 0)
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	if len(flows) != 3 {
		t.Fatalf("got %d flows: %+v", len(flows), flows)
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if f := flows[0]; f.SrcIP != "10.0.0.1" || f.DstIP != "10.0.0.9" || f.DstPort != 5432 || f.Count != 1 || f.FirstSeen != at || f.DstName != "db-1" {
		t.Errorf("inbound flow = %+v", f)
	}
	if f := flows[1]; f.SrcIP != "10.0.0.9" || f.DstIP != "10.0.0.7" || f.DstPort != 443 {
		t.Errorf("outbound flow = %+v", f)
	}
	if f := flows[2]; f.SrcIP != "fe80::1" || f.DstIP != "10.0.0.9" || f.DstPort != 22 {
		t.Errorf("ipv6 flow = %+v", f)
	}

	// Without LISTEN lines the well-known port is the server.
	flows, _, err = parse(t, "tcp ESTAB 0 0 10.0.0.9:51000 10.0.0.5:8080\ntcp ESTAB 0 0 10.0.0.9:443 10.0.0.5:50001\n", 0)
	if err != nil || len(flows) != 2 {
		t.Fatalf("err %v flows %v", err, flows)
	}
	if flows[0].DstIP != "10.0.0.5" || flows[0].DstPort != 8080 || flows[1].DstIP != "10.0.0.9" || flows[1].DstPort != 443 {
		t.Errorf("heuristic direction: %+v", flows)
	}
}

func TestParseErrors(t *testing.T) {
	in := "src_ip,dst_ip,dst_port,protocol,bytes\n" +
		"10.0.0.1,10.0.0.2,443,tcp,1\n" +
		"10.0.0.x,10.0.0.2,443,tcp,1\n" +
		"10.0.0.1,10.0.0.2,99999,tcp,1\n" +
		"10.0.0.1,10.0.0.2,443,tcp\n" +
		"10.0.0.1,10.0.0.2,443,warp,1\n" +
		"10.0.0.1,10.0.0.2,443,tcp,-5\n" +
		`"10.0.0.1,10.0.0.2,443,tcp,1` + "\n"
	flows, errs, err := parse(t, in, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		t.Errorf("got %d good flows, want 1", len(flows))
	}
	wantLines := []int{3, 4, 5, 6, 7, 8}
	if len(errs) != len(wantLines) {
		t.Fatalf("errors %v", errs)
	}
	for i, e := range errs {
		if e.Line != wantLines[i] || e.File != "flows.csv" {
			t.Errorf("error %d = %v, want line %d", i, e, wantLines[i])
		}
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, "flows.csv:3: source IP \"10.0.0.x\"") {
		t.Errorf("error text %q", got)
	}

	_, errs, err = parse(t, in, 2)
	var tm *TooManyErrorsError
	if !errors.As(err, &tm) || len(errs) != 3 || !strings.Contains(err.Error(), "flows.csv:5:") {
		t.Fatalf("max errors 2: err %v, errs %v", err, errs)
	}

	if _, _, err := parse(t, "a,b,c\n1,2,3\n", 5); err == nil || !strings.Contains(err.Error(), "flows.csv:1: header has no source IP") {
		t.Errorf("bad header: %v", err)
	}
	if flows, _, err := parse(t, "", 0); err != nil || len(flows) != 0 {
		t.Errorf("empty file: %v %v", flows, err)
	}
	if _, errs, err := parse(t, "State Recv-Q Send-Q Local Peer\nESTAB 0 0 nowhere 10.0.0.1:80\nBOGUS 1 2 3 4\n", 5); err != nil || len(errs) != 2 || errs[0].Line != 2 {
		t.Errorf("ss errors: %v %v", errs, err)
	}
}

func TestParseLongLine(t *testing.T) {
	in := "src_ip,dst_ip,dst_port\n" + strings.Repeat("x", maxLine+10) + "\n10.0.0.1,10.0.0.2,80\n"
	flows, errs, err := parse(t, in, 1)
	if err != nil || len(flows) != 1 || len(errs) != 1 || errs[0].Line != 2 {
		t.Fatalf("flows %v errs %v err %v", flows, errs, err)
	}
}

func TestAggregator(t *testing.T) {
	a := NewAggregator()
	in := "src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n" +
		"10.0.0.1,10.0.0.2,443,tcp,100,1,2026-01-02T00:00:00Z,2026-01-02T01:00:00Z\n" +
		"10.0.0.1,10.0.0.2,443,tcp,50,2,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z\n" +
		"10.0.0.1,10.0.0.2,80,tcp,1,1,,\n"
	if err := a.ReadFlows(strings.NewReader(in), "a.csv", ParseOptions{}); err != nil {
		t.Fatal(err)
	}
	fl := a.Flows()
	if a.Records != 3 || len(fl) != 2 {
		t.Fatalf("records %d flows %+v", a.Records, fl)
	}
	f := fl[1]
	if f.DstPort != 443 || f.Bytes != 150 || f.Packets != 3 || f.Count != 2 ||
		f.FirstSeen != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) || f.LastSeen != time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC) {
		t.Errorf("aggregate %+v", f)
	}
}

func TestFastTimeMatchesTime(t *testing.T) {
	for _, s := range []string{"1970-01-01T00:00:00Z", "2000-02-29 23:59:59", "2026-12-31T12:00:01Z", "2100-03-01 00:00:00", "2024-02-29T01:02:03Z"} {
		got, ok := fastTime([]byte(s))
		want, err := time.Parse("2006-01-02T15:04:05Z", strings.Replace(strings.TrimSuffix(s, "Z"), " ", "T", 1)+"Z")
		if !ok || err != nil || got != want.UnixNano() {
			t.Errorf("%s: fast %d %v, time %d %v", s, got, ok, want.UnixNano(), err)
		}
	}
	for _, s := range []string{"2026-02-30T00:00:00Z", "2026-13-01 00:00:00", "2026-01-01X00:00:00"} {
		if _, ok := parseTime([]byte(s)); ok {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestParseIPv4MatchesNetip(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.1.2.3", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.", "1.2.3.4 ", "1234.1.1.1", "1.2.3.0", "", "a.b.c.d"} {
		v, ok := parseIPv4([]byte(s))
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is4()
		if ok != want {
			t.Errorf("%q: fast path %v, netip %v", s, ok, want)
			continue
		}
		if ok && a.As4() != [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} {
			t.Errorf("%q: %x", s, v)
		}
	}
}
