package deps

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// aggregate reads files (name -> content) in order and returns the
// conversations, client -> server, as "src -> dst:port/proto".
func aggregate(t *testing.T, files ...string) (*Aggregator, []string) {
	t.Helper()
	a := NewAggregator()
	for i, in := range files {
		if err := a.ReadFlows(strings.NewReader(in), "f"+string(rune('0'+i)), ParseOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, f := range a.Flows() {
		out = append(out, f.SrcIP+" -> "+f.DstIP+":"+strconv.Itoa(f.DstPort)+"/"+f.Protocol)
	}
	return a, out
}

const flowHeader = "src_ip,dst_ip,src_port,dst_port,protocol,bytes,flags,biflowDirection\n"

func TestDirectionTiers(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		how      func(Direction) int
	}{
		{"SYN without ACK marks the client even between high ports",
			"10.0.0.2,10.0.0.1,45000,50000,tcp,60,....S.,\n10.0.0.1,10.0.0.2,50000,45000,tcp,60,.A..S.,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:50000/tcp"}, func(d Direction) int { return d.ByRecord }},
		{"SYN as a number (0x02)",
			"10.0.0.2,10.0.0.1,45000,50000,tcp,60,2,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:50000/tcp"}, func(d Direction) int { return d.ByRecord }},
		{"biflowDirection reverseInitiator: the destination initiated",
			"10.0.0.1,10.0.0.2,50000,45000,tcp,60,,reverseInitiator\n",
			[]string{"10.0.0.2 -> 10.0.0.1:50000/tcp"}, func(d Direction) int { return d.ByRecord }},
		{"well-known port, even below an old BSD client port",
			"10.0.0.1,10.0.0.2,389,1050,tcp,60,...AP.SF,\n10.0.0.2,10.0.0.1,1050,389,tcp,60,...AP.SF,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:389/tcp"}, func(d Direction) int { return d.ByWellKnown }},
		{"port range: one connection, service port against a Linux ephemeral port",
			"10.0.0.1,10.0.0.2,8080,40000,tcp,60,,\n10.0.0.2,10.0.0.1,40000,8080,tcp,60,,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:8080/tcp"}, func(d Direction) int { return d.ByPortRange }},
		{"port range: MySQL's 3306 (old dynamic range) against a Windows ephemeral port",
			"10.0.0.1,10.0.0.2,3306,50001,tcp,60,,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:3306/tcp"}, func(d Direction) int { return d.ByPortRange }},
		{"peer count beats the port range: old BSD clients (1024-5000) of a server on 50000",
			"10.0.0.1,10.0.0.2,50000,1050,tcp,60,,\n10.0.0.1,10.0.0.3,50000,1051,tcp,60,,\n10.0.0.1,10.0.0.4,50000,1052,tcp,60,,\n10.0.0.2,10.0.0.1,1050,50000,tcp,60,,\n",
			[]string{"10.0.0.2 -> 10.0.0.1:50000/tcp", "10.0.0.3 -> 10.0.0.1:50000/tcp", "10.0.0.4 -> 10.0.0.1:50000/tcp"},
			func(d Direction) int { return d.ByPeers }},
		{"UDP: DNS replies pair with their queries",
			"10.0.0.5,10.0.0.53,40000,53,udp,80,,\n10.0.0.53,10.0.0.5,53,40000,udp,200,,\n",
			[]string{"10.0.0.5 -> 10.0.0.53:53/udp"}, func(d Direction) int { return d.ByWellKnown }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, got := aggregate(t, flowHeader+tc.in)
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("conversations %v, want %v", got, tc.want)
			}
			if n := tc.how(a.direction); n == 0 {
				t.Errorf("decided %+v, not by the expected evidence", a.direction)
			}
			if amb := a.Ambiguous(); amb.Conversations != 0 {
				t.Errorf("ambiguous %+v", amb)
			}
		})
	}
}

func TestDirectionPairTotals(t *testing.T) {
	a, got := aggregate(t, flowHeader+
		"10.0.0.2,10.0.0.1,40000,5432,tcp,100,...AP.SF,\n"+
		"10.0.0.1,10.0.0.2,5432,40000,tcp,9000,...AP.SF,\n")
	if len(got) != 1 {
		t.Fatalf("conversations %v", got)
	}
	f := a.Flows()[0]
	if f.Bytes != 9100 || f.Count != 1 || a.direction.Paired != 1 {
		t.Errorf("paired conversation %+v (%+v): want both directions' bytes, one session", f, a.direction)
	}
}

func TestDirectionAmbiguous(t *testing.T) {
	in := flowHeader +
		"10.0.0.1,10.0.0.2,45000,47000,tcp,500,...AP.SF,\n" +
		"10.0.0.2,10.0.0.1,47000,45000,tcp,700,...AP.SF,\n" +
		"10.0.0.3,10.0.0.4,40000,8080,tcp,10,,\n"
	a, got := aggregate(t, in)
	if strings.Join(got, "; ") != "10.0.0.3 -> 10.0.0.4:8080/tcp" {
		t.Errorf("conversations %v: the ambiguous one must make no edge", got)
	}
	amb := a.Ambiguous()
	if amb.Conversations != 1 || amb.Records != 2 || amb.Bytes != 1200 || len(amb.Examples) != 1 ||
		amb.Examples[0].A != "10.0.0.1:45000" || amb.Examples[0].B != "10.0.0.2:47000" {
		t.Fatalf("ambiguous %+v", amb)
	}

	// The analysis names the apps and the table says what to do.
	f := newFixture()
	in = flowHeader + "10.1.0.1,10.1.0.3,45000,47000,tcp,500,,\n"
	agg := NewAggregator()
	if err := agg.ReadFlows(strings.NewReader(in), "x.csv", ParseOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := agg.Analyze(&f.inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x := r.Ambiguous.Examples; len(x) != 1 || x[0].ANode != "web" || x[0].BNode != "api" {
		t.Fatalf("examples %+v", x)
	}
	var buf bytes.Buffer
	if err := RenderTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ambiguous: 1 conversations") || !strings.Contains(buf.String(), "web (10.1.0.1:45000) <-> api (10.1.0.3:47000) tcp") ||
		!strings.Contains(buf.String(), "ss -ltn") {
		t.Errorf("table output:\n%s", buf.String())
	}
	if len(r.Edges) != 0 {
		t.Errorf("edges %+v", r.Edges)
	}
}

func TestDirectionICMP(t *testing.T) {
	in := "sa,da,sp,dp,pr\n" +
		"10.0.0.1,10.0.0.2,0,8.0,ICMP\n" + // echo request
		"10.0.0.2,10.0.0.1,0,0.0,ICMP\n" + // echo reply
		"10.0.0.9,10.0.0.1,0,3.3,ICMP\n" + // port unreachable: no dependency
		"10.0.0.1,10.0.0.3,0,2048,ICMP\n" // 8.0 as type*256+code
	a, got := aggregate(t, in)
	if strings.Join(got, "; ") != "10.0.0.1 -> 10.0.0.2:0/icmp; 10.0.0.1 -> 10.0.0.3:0/icmp" {
		t.Errorf("conversations %v", got)
	}
	if a.direction.ICMPReplies != 1 || a.direction.ICMPDropped != 1 {
		t.Errorf("%+v", a.direction)
	}
}

// TestDirectionListening: listening sockets from an ss capture decide the
// flows of another file; a wildcard listen applies to the host's own
// addresses; a host whose listening sockets are known is the client on
// ports it does not listen on.
func TestDirectionListening(t *testing.T) {
	ss := "# ferry-ss host=app-1\n" +
		"State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
		"LISTEN 0 128 0.0.0.0:45001 0.0.0.0:*\n" +
		"ESTAB 0 0 10.0.0.1:45001 10.0.0.7:45002\n" +
		"# ferry-ss host=other\n" +
		"LISTEN 0 128 *:47000 *:*\n" // no address of that host is known: the port alone
	flows := flowHeader +
		"10.0.0.1,10.0.0.2,45001,46000,tcp,1,,\n" + // 10.0.0.1 listens on 45001
		"10.0.0.1,10.0.0.3,50000,51000,tcp,1,,\n" + // 10.0.0.1 listens on neither: it is the client
		"10.0.0.5,10.0.0.6,40000,47000,tcp,1,,\n" // someone listens on 47000
	a, got := aggregate(t, ss, flows)
	want := "10.0.0.1 -> 10.0.0.3:51000/tcp; 10.0.0.2 -> 10.0.0.1:45001/tcp; 10.0.0.5 -> 10.0.0.6:47000/tcp; 10.0.0.7 -> 10.0.0.1:45001/tcp"
	if strings.Join(got, "; ") != want {
		t.Errorf("conversations\n%v\nwant\n%v", strings.Join(got, "; "), want)
	}
	if a.direction.ByListening != 4 {
		t.Errorf("%+v", a.direction)
	}
}

// TestRealNfdumpFastPath: every record of the real nfdump output takes the
// one-pass parser, with the general parser's result.
func TestRealNfdumpFastPath(t *testing.T) {
	data, err := os.ReadFile("testdata/real-nfdump.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	p := &parser{file: "real-nfdump.csv", ips: newIPTable()}
	c, err := p.csvHeader(1, []byte(lines[0]))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "20") {
			continue
		}
		if !c.fastLine([]byte(l)) {
			t.Fatalf("fast path refused %q", l)
		}
		fast := c.rec
		if reason := c.parseLine([]byte(l)); reason != "" {
			t.Fatalf("%q: %s", l, reason)
		}
		fast.srcName, fast.dstName = nil, nil
		slow := c.rec
		slow.srcName, slow.dstName = nil, nil
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, general %+v", l, fast, slow)
		}
		if fast.sport == 0 || fast.first == 0 || fast.bytes == 0 {
			t.Fatalf("%q: %+v", l, fast)
		}
		n++
	}
	if n != 134 {
		t.Errorf("%d records", n)
	}
}
