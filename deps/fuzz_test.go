package deps

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/inventory"
)

// FuzzParseFlows: any input, any tolerance: no panic, errors carry a line,
// records carry valid addresses, the tolerance is honoured, and the
// streaming aggregator agrees with the record-by-record parser.
func FuzzParseFlows(f *testing.F) {
	f.Add([]byte("src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n10.0.0.1,10.0.0.2,443,tcp,1,1,2026-01-01T00:00:00Z,2026-01-01T00:00:01Z\n"), 0)
	f.Add([]byte("Source,Source IP,Destination,Destination IP,Destination Port,Protocol,Session Count\n\"a\"\"b\",10.0.0.1,x,::1,TCP/22,TCP,3\n"), 2)
	f.Add([]byte("ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt\n2026-05-15 12:35:53,2026-05-15 12:36:10,17,10.2.0.1,10.2.0.2,1,5432,TCP,1,2\nSummary\n"), 1)
	f.Add([]byte("LISTEN 0 128 *:22 *:*\nESTAB 0 0 [::ffff:10.0.0.1]:22 10.0.0.2:50000\n# ferry-ss time=2026-01-01T00:00:00Z\n"), 0)
	f.Fuzz(func(t *testing.T, data []byte, maxErrors int) {
		maxErrors = max(0, min(maxErrors, 50))
		flows, errs, err := ParseFlows(bytes.NewReader(data), "fuzz.csv", ParseOptions{MaxErrors: maxErrors})
		if err == nil && len(errs) > maxErrors {
			t.Fatalf("%d errors tolerated with max %d", len(errs), maxErrors)
		}
		for _, e := range errs {
			if e.Line < 1 || e.File != "fuzz.csv" || e.Reason == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
		for _, fl := range flows {
			if _, err := netip.ParseAddr(fl.SrcIP); err != nil {
				t.Fatalf("bad source %q", fl.SrcIP)
			}
			if _, err := netip.ParseAddr(fl.DstIP); err != nil {
				t.Fatalf("bad destination %q", fl.DstIP)
			}
			if fl.DstPort < 0 || fl.DstPort > 65535 || fl.Bytes < 0 || fl.Packets < 0 || fl.Count < 1 {
				t.Fatalf("bad flow %+v", fl)
			}
		}
		a := NewAggregator()
		aerr := a.ReadFlows(bytes.NewReader(data), "fuzz.csv", ParseOptions{MaxErrors: maxErrors})
		if (aerr == nil) != (err == nil) || a.Records != int64(len(flows)) {
			t.Fatalf("aggregator: %d records, err %v; parser: %d flows, err %v", a.Records, aerr, len(flows), err)
		}
		var sum, asum int64
		for _, fl := range flows {
			sum += fl.Bytes
		}
		for _, fl := range a.Flows() {
			asum += fl.Bytes
		}
		if sum != asum {
			t.Fatalf("bytes %d parsed, %d aggregated", sum, asum)
		}
		// and the analysis of whatever parsed must not panic
		inv := &inventory.Inventory{Apps: []inventory.App{{Name: "a", VMs: []string{"vm-1"}}},
			VMs: []inventory.VM{{Ref: "vm-1", Name: "a-1", App: "a", IPs: []string{"10.0.0.1"}}}}
		if _, err := a.Analyze(inv, Options{MaxAppsPerWave: 1}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSplitCSV: splitting never panics and unquoted input round-trips.
func FuzzSplitCSV(f *testing.F) {
	f.Add([]byte(`a,"b""c",,d`))
	f.Add([]byte(`"unterminated`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var scratch []byte
		fields, err := splitCSV(line, nil, &scratch)
		if err == nil && !bytes.ContainsRune(line, '"') && string(bytes.Join(fields, []byte(","))) != string(line) {
			t.Fatalf("%q split to %q", line, fields)
		}
	})
}

// FuzzParseTime: never panics; what parses is a plausible time.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05Z", "2026-01-02 03:04:05.123", "1767225600", "1767225600123", "2026/01/02 03:04:05", "2026-02-30T00:00:00Z"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, ok := parseTime(b)
		if ok && ns < 0 {
			t.Fatalf("%q -> %d", b, ns)
		}
		// the eight-bytes-at-a-time reader agrees with fastTime
		if rns, rok := rfc3339UTC(b); rok || (len(b) == 20 && b[10] == 'T') {
			if fns, fok := fastTime(b); rok != fok || rns != fns {
				t.Fatalf("%q: rfc3339UTC %d %v, fastTime %d %v", b, rns, rok, fns, fok)
			}
		}
		// the fast form agrees with the time package
		if ns, ok := fastTime(b); ok {
			s := strings.Replace(string(b), " ", "T", 1)
			if !strings.HasSuffix(s, "Z") {
				s += "Z"
			}
			want, err := time.Parse(time.RFC3339Nano, s)
			if err == nil && want.UnixNano() != ns {
				t.Fatalf("%q: fast %d, time.Parse %d", b, ns, want.UnixNano())
			}
		}
	})
}

// FuzzFastLine: the one-pass parser accepts only lines the general parser
// accepts, with the same record.
func FuzzFastLine(f *testing.F) {
	h := "src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen"
	f.Add(h, "10.0.0.1,10.0.0.2,443,tcp,1,1,2026-01-01T00:00:00Z,2026-01-01T00:00:01Z")
	f.Add(h, "10.0.0.1,10.0.0.2,0.8,icmp,1.5,1,1767225600,")
	f.Add("Source,Source IP,Destination,Destination IP,Destination Port,Protocol,Session Count", "a,10.0.0.1,10.0.0.2,10.0.0.2,TCP/22,TCP,3")
	f.Add("ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt", "2026-05-15 12:35:53,2026-05-15 12:36:10,17,10.2.0.1,10.2.0.2,1,5432,TCP,1,2")
	f.Add(h, "010.0.0.1,10.0.0.2,443,tcp,1,1,,")
	f.Add(strings.TrimSuffix(nfdumpHeader, "\n"), "2027-01-21 11:37:42,2027-01-21 11:37:43,1.287,127.20.0.10,127.20.1.1,8080,56181,TCP,...AP.SF,0,0,4,20216,0,0,0,0,0,0,0,0,0,0"+nfdumpTail+"2026-12-02 18:35:00.073")
	f.Add("src_ip,dst_ip,src_port,dst_port,protocol,bytes,flags,biflowDirection", "10.0.0.2,10.0.0.1,45000,50000,tcp,60,....S.,2")
	f.Add(h, "10.0.0.1,10.0.0.2,99999,17,0,1234567890123456789,,")
	f.Fuzz(func(t *testing.T, header, line string) {
		if strings.ContainsAny(header+line, "\r\n") {
			return
		}
		p := &parser{file: "f.csv", ips: newIPTable()}
		c, err := p.csvHeader(1, []byte(header))
		if err != nil {
			return
		}
		if !c.fastLine([]byte(line)) {
			return
		}
		fast := c.rec
		fastNames := string(fast.srcName) + "|" + string(fast.dstName)
		fast.srcName, fast.dstName = nil, nil
		if reason := c.parseLine([]byte(line)); reason != "" {
			t.Fatalf("%q: fast path accepted, general parser says %s", line, reason)
		}
		slow := c.rec
		slowNames := string(slow.srcName) + "|" + string(slow.dstName)
		slow.srcName, slow.dstName = nil, nil
		if !reflect.DeepEqual(fast, slow) || fastNames != slowNames {
			t.Fatalf("%q: fast %+v, general %+v", line, fast, slow)
		}
	})
}
