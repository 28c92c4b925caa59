package deps

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/inventory"
)

const (
	benchVMs     = 5000
	benchPerApp  = 5
	benchRecords = 1_000_000
)

// benchInventory is the portfolio of the flow benchmarks: 1,000 apps of 5
// VMs in two datacenters; each app depends on three others (mostly
// "downhill", some back: cycles). It returns the generator, to go on with.
func benchInventory() (*inventory.Inventory, *rand.Rand, [][]int) {
	rng := rand.New(rand.NewPCG(42, 42))
	apps := benchVMs / benchPerApp
	inv := &inventory.Inventory{Schema: inventory.SchemaVersion}
	ip := func(vm int) string { return fmt.Sprintf("10.%d.%d.%d", vm/250>>8, vm/250&255, vm%250+1) }
	dependsOn := make([][]int, apps)
	for a := 0; a < apps; a++ {
		app := inventory.App{Name: fmt.Sprintf("app-%04d", a)}
		for v := 0; v < benchPerApp; v++ {
			n := a*benchPerApp + v
			dc := "dc-east"
			if a%2 == 1 {
				dc = "dc-west"
			}
			ref := fmt.Sprintf("vm-%d", n+1)
			inv.VMs = append(inv.VMs, inventory.VM{Ref: ref, Name: fmt.Sprintf("%s-%d", app.Name, v), App: app.Name, Datacenter: dc, IPs: []string{ip(n)}})
			app.VMs = append(app.VMs, ref)
		}
		inv.Apps = append(inv.Apps, app)
		for k := 0; k < 3 && a > 0; k++ {
			d := rng.IntN(a) // downhill
			if rng.IntN(50) == 0 && a+1 < apps {
				d = a + 1 + rng.IntN(apps-a-1) // uphill: may close a cycle
			}
			dependsOn[a] = append(dependsOn[a], d)
		}
	}
	return inv, rng, dependsOn
}

// benchPortfolio is 1,000 apps of 5 VMs in two datacenters; each app
// depends on three others (mostly "downhill", some back: cycles), and a
// flow file of benchRecords records: calls to dependencies, intra-app
// traffic and clients from outside.
func benchPortfolio(tb testing.TB, dir string) (*inventory.Inventory, string) {
	tb.Helper()
	inv, rng, dependsOn := benchInventory()
	apps := benchVMs / benchPerApp
	ip := func(vm int) string { return fmt.Sprintf("10.%d.%d.%d", vm/250>>8, vm/250&255, vm%250+1) }
	path := filepath.Join(dir, "flows.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n")
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := 0; i < benchRecords; i++ {
		a := rng.IntN(apps)
		src := ip(a*benchPerApp + rng.IntN(benchPerApp))
		var dst string
		port := 8000
		switch r := rng.IntN(100); {
		case r < 5: // a client from outside
			src = fmt.Sprintf("203.0.%d.%d", rng.IntN(64), rng.IntN(256))
			dst, port = ip(a*benchPerApp), 443
		case r < 15 || len(dependsOn[a]) == 0: // inside the app
			dst, port = ip(a*benchPerApp+rng.IntN(benchPerApp)), 7000
		default:
			d := dependsOn[a][rng.IntN(len(dependsOn[a]))]
			dst, port = ip(d*benchPerApp+rng.IntN(benchPerApp)), 8000+d%100
		}
		first := t0.Add(time.Duration(rng.IntN(86400*14)) * time.Second)
		last := first.Add(time.Duration(rng.IntN(3600)) * time.Second)
		pk := 1 + rng.IntN(500)
		fmt.Fprintf(w, "%s,%s,%d,tcp,%d,%d,%s,%s\n", src, dst, port, pk*(60+rng.IntN(1400)), pk,
			first.Format(time.RFC3339), last.Format(time.RFC3339))
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return inv, path
}

// nfdumpHeader and nfdumpTail are the columns of `nfdump -o csv` (1.7.1)
// around the ones a record varies, as in testdata/real-nfdump.csv.
const (
	nfdumpHeader = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n"
	nfdumpTail   = ",0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,127.0.0.1,0/0,1,"
)

// benchNfdump writes the portfolio's traffic as a NetFlow exporter and
// `nfdump -o csv` would: benchRecords records, one per direction of
// benchRecords/2 TCP connections, each from a client's ephemeral port
// (Linux range) to the server's port; the reply follows its request
// within a few hundred records, as records of concurrent connections
// interleave. Timestamps to the millisecond, padded columns and the
// Summary block as nfdump writes them.
func benchNfdump(tb testing.TB, dir string) (*inventory.Inventory, string) {
	tb.Helper()
	inv, _, dependsOn := benchInventory()
	rng := rand.New(rand.NewPCG(7, 7))
	apps := benchVMs / benchPerApp
	ip := func(vm int) string { return fmt.Sprintf("10.%d.%d.%d", vm/250>>8, vm/250&255, vm%250+1) }
	path := filepath.Join(dir, "nfdump.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(nfdumpHeader)
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	stamp := func(t time.Time) string { return t.Format("2006-01-02 15:04:05.000") }
	type rec struct {
		src, dst     string
		sport, dport int
		pkts, bytes  int
		first, last  time.Time
		dirFlag      int
	}
	write := func(r rec) {
		fmt.Fprintf(w, "%s,%s,%.3f,%s,%s,%d,%d,TCP,...AP.SF,0,0,%d,%d,0,0,0,0,0,0,0,0,0,%d"+nfdumpTail+"%s\n",
			stamp(r.first), stamp(r.last), r.last.Sub(r.first).Seconds(), r.src, r.dst, r.sport, r.dport, r.pkts, r.bytes, r.dirFlag, stamp(r.last.Add(time.Second)))
	}
	var pending []rec // replies not written yet
	for i := 0; i < benchRecords/2; i++ {
		a := rng.IntN(apps)
		src := ip(a*benchPerApp + rng.IntN(benchPerApp))
		var dst string
		port := 8000
		switch r := rng.IntN(100); {
		case r < 5: // a client from outside
			src = fmt.Sprintf("203.0.%d.%d", rng.IntN(64), rng.IntN(256))
			dst, port = ip(a*benchPerApp), 443
		case r < 15 || len(dependsOn[a]) == 0: // inside the app
			dst, port = ip(a*benchPerApp+rng.IntN(benchPerApp)), 7000
		default:
			d := dependsOn[a][rng.IntN(len(dependsOn[a]))]
			dst, port = ip(d*benchPerApp+rng.IntN(benchPerApp)), 8000+d%100
		}
		first := t0.Add(time.Duration(rng.IntN(86400*14*1000)) * time.Millisecond)
		last := first.Add(time.Duration(rng.IntN(3600*1000)) * time.Millisecond)
		sport := 32768 + rng.IntN(60999-32768+1)
		pk := 1 + rng.IntN(500)
		write(rec{src, dst, sport, port, pk, pk * (60 + rng.IntN(1400)), first, last, 0})
		pending = append(pending, rec{dst, src, port, sport, pk, pk * (60 + rng.IntN(200)), first, last, 1})
		for len(pending) > 0 && (len(pending) > 256 || rng.IntN(2) == 0) {
			k := rng.IntN(len(pending))
			write(pending[k])
			pending[k] = pending[len(pending)-1]
			pending = pending[:len(pending)-1]
		}
	}
	for _, r := range pending {
		write(r)
	}
	fmt.Fprintf(w, "Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n%d,0,0,0,0,0\n", benchRecords)
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return inv, path
}

// floor reads the file and splits every line into its comma-separated
// fields, doing nothing with them: the least any parser must do.
func floor(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, maxLine)
	fields := make([][]byte, 0, 16)
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			fields = fields[:0]
			for {
				i := bytes.IndexByte(line, ',')
				if i < 0 {
					fields = append(fields, line)
					break
				}
				fields = append(fields, line[:i])
				line = line[i+1:]
			}
			n += len(fields)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// floorCSV reads and splits the file the standard library's way:
// encoding/csv with ReuseRecord. It is a second, gentler floor: what a
// program that only reads the CSV costs.
func floorCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1 // nfdump's Summary block has its own columns
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += len(rec)
	}
}

// peakHeap samples the live heap every few milliseconds until stopped.
type peakHeap struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startPeak() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64() + s[1].Value.Uint64(); v > p.peak {
				p.peak = v
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakHeap) done() uint64 { close(p.stop); p.wg.Wait(); return p.peak }

// resetRSSPeak clears the kernel's peak RSS (VmHWM) so it covers only what
// follows; readRSSPeak reads it. Both are best effort (Linux only).
func resetRSSPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func readRSSPeak() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// is steadier than the wall clock, and it counts the GC's threads too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type cost struct{ wall, cpu time.Duration }

func measure(f func()) cost {
	w, c := time.Now(), cpuTime()
	f()
	return cost{time.Since(w), cpuTime() - c}
}

func (c *cost) keepMin(o cost) {
	if c.wall == 0 || o.wall < c.wall {
		c.wall = o.wall
	}
	if c.cpu == 0 || o.cpu < c.cpu {
		c.cpu = o.cpu
	}
}

// benchRounds is how often each flow benchmark measures the floor and the
// analysis inside one iteration (make bench runs -benchtime 1x); the best
// round of each counts.
const benchRounds = 3

// BenchmarkAnalyzeMillion reads 1,000,000 NetFlow records as `nfdump -o
// csv` writes them (half of them replies, paired with their requests)
// across 5,000 VMs and computes the graph, move groups and waves. It
// reports the best analysis over the best floor, reading the file and
// splitting its lines into fields with no analysis, both measured in the
// same rounds: in CPU time ("ratio", steady on a shared machine) and in
// wall time ("wall-ratio"), with the peak heap and the peak RSS. Targets:
// ratio <= 3, peak memory <= 300 MB.
func BenchmarkAnalyzeMillion(b *testing.B) {
	benchAnalyze(b, benchNfdump, func(b *testing.B, r *Result) {
		if d := r.Stats.Direction; d.Paired != benchRecords/2 && d.Paired < benchRecords/2*99/100 {
			b.Fatalf("%d conversations paired, want about %d: %+v", d.Paired, benchRecords/2, d)
		}
		if r.Ambiguous.Conversations != 0 {
			b.Fatalf("%d ambiguous conversations: %+v", r.Ambiguous.Conversations, r.Ambiguous.Examples)
		}
	})
}

// BenchmarkAnalyzeMillionCanonical is BenchmarkAnalyzeMillion on ferry's
// canonical CSV: one record per conversation, client -> server, no source
// port, so nothing to pair.
func BenchmarkAnalyzeMillionCanonical(b *testing.B) {
	benchAnalyze(b, benchPortfolio, nil)
}

func benchAnalyze(b *testing.B, gen func(testing.TB, string) (*inventory.Inventory, string), check func(*testing.B, *Result)) {
	inv, path := gen(b, b.TempDir())
	st, _ := os.Stat(path)
	var floorBest, csvBest, best, parseBest cost
	var heapPeak, rssPeak uint64
	var res *Result
	b.ResetTimer()
	for i := 0; i < b.N*benchRounds; i++ {
		b.StopTimer()
		runtime.GC()
		floorBest.keepMin(measure(func() {
			if _, err := floor(path); err != nil {
				b.Fatal(err)
			}
		}))
		runtime.GC()
		csvBest.keepMin(measure(func() {
			if _, err := floorCSV(path); err != nil {
				b.Fatal(err)
			}
		}))
		runtime.GC()
		resetRSSPeak()
		ph := startPeak()
		b.StartTimer()
		var agg *Aggregator
		var pc cost
		c := measure(func() {
			pc = measure(func() {
				agg = NewAggregator()
				if err := agg.ReadFlowsFile(path, ParseOptions{}); err != nil {
					b.Fatal(err)
				}
			})
			var err error
			res, err = agg.Analyze(inv, Options{MaxAppsPerWave: 50, MaxVMsPerWave: 300})
			if err != nil {
				b.Fatal(err)
			}
		})
		b.StopTimer()
		heapPeak = max(heapPeak, ph.done())
		rssPeak = max(rssPeak, readRSSPeak())
		best.keepMin(c)
		parseBest.keepMin(pc)
		if agg.Records != benchRecords {
			b.Fatalf("read %d records, want %d", agg.Records, benchRecords)
		}
		if check != nil {
			check(b, res)
		}
		b.StartTimer()
	}
	b.StopTimer()
	ratio := float64(best.cpu) / float64(floorBest.cpu)
	wallRatio := float64(best.wall) / float64(floorBest.wall)
	csvRatio := float64(best.cpu) / float64(csvBest.cpu)
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(csvRatio, "ratio-vs-encoding/csv")
	b.ReportMetric(wallRatio, "wall-ratio")
	b.ReportMetric(float64(floorBest.wall.Milliseconds()), "floor-ms")
	b.ReportMetric(float64(best.wall.Milliseconds()), "analyze-ms")
	b.ReportMetric(float64(heapPeak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(rssPeak)/1e6, "peak-rss-MB")
	b.Logf("best of %d rounds; parse, pair and aggregate: %v wall / %v CPU; graph, move groups and waves: the rest", b.N*benchRounds, parseBest.wall, parseBest.cpu)
	b.Logf("second floor, encoding/csv reading the same file: %v wall / %v CPU; ratio %.2f CPU", csvBest.wall, csvBest.cpu, csvRatio)
	b.Logf("%d records (%.0f MB file), %d VMs: analyze %v wall / %v CPU, floor %v wall / %v CPU; ratio %.2f CPU, %.2f wall (target <= 3); peak heap %.0f MB, peak RSS %.0f MB (target <= 300); %d conversations (%d paired), %d ambiguous, %d edges, %d move groups, %d waves",
		benchRecords, float64(st.Size())/1e6, benchVMs, best.wall, best.cpu, floorBest.wall, floorBest.cpu, ratio, wallRatio,
		float64(heapPeak)/1e6, float64(rssPeak)/1e6, res.Stats.Conversations, res.Stats.Direction.Paired, res.Ambiguous.Conversations, len(res.Edges), len(res.MoveGroups), len(res.Waves))
}

// BenchmarkGraph is the analysis alone (graph, move groups, waves, blast
// radius) on the aggregate of BenchmarkAnalyzeMillion's file.
func BenchmarkGraph(b *testing.B) {
	inv, path := benchPortfolio(b, b.TempDir())
	agg := NewAggregator()
	if err := agg.ReadFlowsFile(path, ParseOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var best cost
	for i := 0; i < b.N; i++ {
		best.keepMin(measure(func() {
			if _, err := agg.Analyze(inv, Options{MaxAppsPerWave: 50, MaxVMsPerWave: 300}); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(float64(best.cpu.Milliseconds()), "best-cpu-ms")
}

// BenchmarkParse is parsing and aggregation alone, with the floor.
func BenchmarkParse(b *testing.B) {
	_, path := benchPortfolio(b, b.TempDir())
	b.ResetTimer()
	var best cost
	for i := 0; i < b.N; i++ {
		best.keepMin(measure(func() {
			if err := NewAggregator().ReadFlowsFile(path, ParseOptions{}); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(float64(best.cpu.Milliseconds()), "best-cpu-ms")
}

// BenchmarkFloor is the floor alone.
func BenchmarkFloor(b *testing.B) {
	_, path := benchPortfolio(b, b.TempDir())
	b.ResetTimer()
	var best cost
	for i := 0; i < b.N; i++ {
		best.keepMin(measure(func() {
			if _, err := floor(path); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(float64(best.cpu.Milliseconds()), "best-cpu-ms")
}

// BenchmarkParseOnly is parsing without aggregation: what the conversion
// of fields costs over the floor.
func BenchmarkParseOnly(b *testing.B) {
	_, path := benchPortfolio(b, b.TempDir())
	b.ResetTimer()
	var best cost
	for i := 0; i < b.N; i++ {
		best.keepMin(measure(func() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			p := &parser{file: path, ips: newIPTable(), emit: func(*record) {}}
			if err := p.run(f); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(float64(best.cpu.Milliseconds()), "best-cpu-ms")
}
