// Package devstack is `ferry dev`: the whole local stack on loopback — the
// Temporal dev server with its UI, the govmomi simulator holding a sample
// portfolio, gcpfake, and a worker — with its state under one directory.
package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/redact"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/worker"
)

// Options configure the stack.
type Options struct {
	StateDir        string
	Namespace       string
	TemporalBin     string
	TemporalPort    int
	UIPort          int
	TerraformBin    string
	TerraformConfig string // TF_CLI_CONFIG_FILE with the provider mirror
	UICodecEndpoint string
	// Encrypt turns on payload encryption: a key ring under StateDir and
	// the codec served to the UI.
	Encrypt bool
	Demo    bool
	// MetricsAddress, when set, is where the worker serves Prometheus
	// metrics (host:port; port 0 picks a free one, shown in the banner).
	MetricsAddress string
	Out            io.Writer
	Log            *slog.Logger
	// Ready, when set, is called once everything runs (tests use it).
	Ready func(Stack)
}

// Stack is what a running dev stack offers.
type Stack struct {
	TemporalAddress string
	UIURL           string
	GCP             gcp.Config
	VCenterURL      string
	VCenter         inventory.Config // the simulator, with its throwaway credentials
	StateDir        string
	DemoWave        string
	// DataConverter decrypts the stack's payloads (nil: not encrypted).
	DataConverter converter.DataConverter
	CodecEndpoint string
	// MetricsURL is the worker's /metrics (empty: not served).
	MetricsURL string
	// PlanStore holds the published dev plan, PlanDigest names it.
	PlanStore, PlanDigest string
	// DNSAddr serves gcpfake's Cloud DNS zones over DNS (UDP and TCP), so
	// a client resolving an app's client_dns name follows its cutover.
	DNSAddr string
	// DevCA is the PEM file of the dev CA that signed DevHTTPSHost's
	// certificate; the worker trusts it (and resolves through DNSAddr).
	DevCA string
}

// Run brings the stack up, prints where everything is, and blocks until
// ctx is done; then it stops all of it.
func Run(ctx context.Context, o Options) error {
	abs, err := filepath.Abs(o.StateDir)
	if err != nil {
		return err
	}
	o.StateDir = abs
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", o.StateDir, err)
	}
	lk, err := acquire(o.StateDir)
	if err != nil {
		return err
	}
	defer lk.release()

	var dcodec *devCodec
	if o.Encrypt {
		if dcodec, err = startCodec(o, o.Log); err != nil {
			return fmt.Errorf("payload encryption: %w", err)
		}
		defer dcodec.stop()
		o.UICodecEndpoint = dcodec.endpoint
	}

	o.Log.Info("starting the Temporal dev server", "port", o.TemporalPort, "ui", o.UIPort)
	ts, err := startTemporal(ctx, o)
	if err != nil {
		return err
	}
	defer ts.stop()

	o.Log.Info("starting the vCenter simulator with the sample portfolio")
	portfolio := sample.Generate(sample.Default())
	sim, err := sample.Start(ctx, portfolio)
	if err != nil {
		return fmt.Errorf("vCenter simulator: %w", err)
	}
	// The simulator's password is a secret of this worker like GOVC_PASSWORD
	// of a real one: hook output, logs and notifications redact it.
	redact.Register(sim.Config().Password)
	defer sim.Close()

	// gcpfake with its data plane: instances and load balancers answer on
	// loopback, and hybrid NEGs reach the datacenter stand-ins (dataplane.go).
	dc := newDatacenter()
	defer dc.close()
	// Migrate to Virtual Machines: the cutover job powers the source off
	// in the simulator, as the real connector does.
	power := &sourcePower{vc: sim.Config(), names: map[string]string{}}
	fake, err := gcpfake.Start(gcpfake.Options{DataPlane: true, Hybrid: dc.hybrid, M2VM: devM2VM(power.shutdown)})
	if err != nil {
		return err
	}
	defer fake.Close()
	dnsSrv, err := fake.ServeDNS("")
	if err != nil {
		return err
	}
	defer dnsSrv.Close()

	// The dev CA and the HTTPS app's certificate, kept across restarts.
	certs, err := DevCertificates(o.StateDir)
	if err != nil {
		return err
	}
	files, specs, p, err := writeInputs(ctx, o, portfolio, sim.Config(), certs)
	if err != nil {
		return err
	}
	if err := dc.serve(specs); err != nil {
		return err
	}
	inv, err := inventory.Load(files.inventory)
	if err != nil {
		return err
	}
	for _, v := range inv.VMs {
		power.names[v.Ref] = v.Name
	}
	if err := serveReplication(fake, specs, inv); err != nil {
		return err
	}
	if err := serveLoadBalancers(ctx, fake, specs); err != nil {
		return err
	}
	if err := serveClientNames(ctx, fake, specs); err != nil {
		return err
	}
	o.Log.Info("datacenter app stand-ins on loopback", "endpoints", dc.endpoints())
	gcfg := gcp.Config{Project: p.GCP.Project, Region: p.GCP.Region,
		ComputeEndpoint: fake.ComputeEndpoint(), DNSEndpoint: fake.DNSEndpoint(), StorageEndpoint: fake.StorageEndpoint(),
		VMMigrationEndpoint: fake.M2VMEndpoint(), MonitoringEndpoint: fake.MonitoringEndpoint(), BillingEndpoint: fake.BillingEndpoint()}
	if p.GCP.Backend.Type == "gcs" && p.GCP.Backend.Bucket != "" {
		fake.CreateBucket(p.GCP.Backend.Bucket)
	}

	hostPort := fmt.Sprintf("127.0.0.1:%d", o.TemporalPort)
	copts := client.Options{HostPort: hostPort, Namespace: o.Namespace, Logger: tlog.NewStructuredLogger(o.Log)}
	if dcodec != nil {
		copts.DataConverter = dcodec.dc
	}
	metricsURL := ""
	if o.MetricsAddress != "" {
		m, err := worker.NewMetrics(o.Log)
		if err != nil {
			return err
		}
		if err := m.Serve(o.MetricsAddress, o.Log); err != nil {
			return err
		}
		defer func() { _ = m.Close(context.Background()) }()
		copts.MetricsHandler = m.Handler
		metricsURL = "http://" + m.Addr() + "/metrics"
	}
	c, err := client.DialContext(ctx, copts)
	if err != nil {
		return fmt.Errorf("connect to the dev server: %w", err)
	}
	defer c.Close()
	// The plan as written is the reviewed one here: publish it to the
	// stack's plan store, the only place the worker reads specs from.
	store, err := planstore.Open(ctx, filepath.Join(o.StateDir, "plans"))
	if err != nil {
		return err
	}
	digest, err := planstore.Publish(ctx, store, files.plan, files.inventory, []string{files.flows})
	if err != nil {
		return err
	}
	acts := &activities.Activities{
		Plans:     planstore.NewResolver(store),
		VCenter:   sim.Config(),
		GCP:       gcfg,
		Terraform: terraform.Config{Binary: o.TerraformBin, CLIConfigFile: o.TerraformConfig, WorkRoot: filepath.Join(o.StateDir, "terraform")},
		Flows:     []string{files.flows},
		// The SLO gate probes public_url as a client: names resolved by
		// the stack's DNS server, the dev CA trusted.
		Traffic: traffic.Config{ProbeRootCAs: certs.CAFile, Resolver: dnsSrv.Addr()},
	}
	acts.Notify.UIBaseURL = fmt.Sprintf("http://localhost:%d", o.UIPort)
	acts.Notify.Namespace = o.Namespace
	w := worker.New(c, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the worker: %w", err)
	}
	defer w.Stop()

	st := Stack{TemporalAddress: hostPort, UIURL: fmt.Sprintf("http://localhost:%d", o.UIPort), GCP: gcfg,
		VCenterURL: sim.Config().URL, VCenter: sim.Config(), StateDir: o.StateDir, MetricsURL: metricsURL, DNSAddr: dnsSrv.Addr(),
		DevCA: certs.CAFile}
	keyFile := ""
	if dcodec != nil {
		st.DataConverter, st.CodecEndpoint, keyFile = dcodec.dc, dcodec.endpoint, dcodec.keyFile
	}
	if err := writeEnv(files.env, st, sim.Config(), o.Namespace, keyFile); err != nil {
		return err
	}
	st.PlanStore, st.PlanDigest = store.String(), digest
	if o.Demo && len(p.Waves) > 0 {
		wave := p.Waves[0]
		signer, err := devKey(o.StateDir, Operator)
		if err != nil {
			return err
		}
		fc := &ferryclient.Client{Temporal: c, User: Operator, Signer: signer}
		if _, err := fc.StartWave(ctx, wave, digest); err != nil && !errors.Is(err, ferryclient.ErrAlreadyRunning) {
			return err // a wave left running from an earlier `ferry dev` is fine
		}
		st.DemoWave = wave.Name
	}
	printBanner(o.Out, st, files, p, specs)
	if o.Ready != nil {
		o.Ready(st)
	}
	<-ctx.Done()
	fmt.Fprintln(o.Out, "\nstopping ferry dev: worker, gcpfake, simulator, Temporal dev server…")
	return nil
}

type inputFiles struct{ inventory, flows, plan, env string }

// writeInputs discovers the simulator, writes the inventory, the flows and
// (unless one exists) a plan, and resolves the plan.
func writeInputs(ctx context.Context, o Options, p *sample.Portfolio, vc inventory.Config, certs DevTLS) (inputFiles, []plan.AppSpec, *plan.Plan, error) {
	f := inputFiles{
		inventory: filepath.Join(o.StateDir, "inventory.json"),
		flows:     filepath.Join(o.StateDir, "flows.csv"),
		plan:      filepath.Join(o.StateDir, "ferry.hcl"),
		env:       filepath.Join(o.StateDir, "dev.env"),
	}
	cl, err := inventory.Connect(ctx, vc)
	if err != nil {
		return f, nil, nil, err
	}
	defer func() { _ = cl.Close(context.WithoutCancel(ctx)) }()
	inv, err := inventory.Discover(ctx, cl, inventory.DefaultOptions())
	if err != nil {
		return f, nil, nil, err
	}
	b, _ := json.MarshalIndent(inv, "", "  ")
	if err := os.WriteFile(f.inventory, b, 0o600); err != nil {
		return f, nil, nil, err
	}
	var flows bytes.Buffer
	if err := p.WriteFlows(&flows); err != nil {
		return f, nil, nil, err
	}
	if err := os.WriteFile(f.flows, flows.Bytes(), 0o600); err != nil {
		return f, nil, nil, err
	}
	if _, err := os.Stat(f.plan); os.IsNotExist(err) {
		agg := deps.NewAggregator()
		if err := agg.ReadFlowsFile(f.flows, deps.ParseOptions{}); err != nil {
			return f, nil, nil, err
		}
		d, err := agg.Analyze(inv, deps.Options{})
		if err != nil {
			return f, nil, nil, err
		}
		src, err := DevPeople(o.StateDir, plan.Init(inv, d), inv)
		if err != nil {
			return f, nil, nil, err
		}
		if src, err = DevData(o.StateDir, src, inv); err != nil {
			return f, nil, nil, err
		}
		if src, err = DevLoadBalancers(src); err != nil {
			return f, nil, nil, err
		}
		if src, err = DevHTTPS(src, certs); err != nil {
			return f, nil, nil, err
		}
		if err := os.WriteFile(f.plan, src, 0o600); err != nil {
			return f, nil, nil, err
		}
	}
	dp, err := LoadPlan(o.StateDir)
	if err != nil {
		return f, nil, nil, err
	}
	return f, dp.Specs, dp.Plan, nil
}

// DevPlan is what a dev stack's state directory holds, resolved as the CLI
// resolves it.
type DevPlan struct {
	Plan      *plan.Plan
	Specs     []plan.AppSpec
	Deps      *deps.Result
	Inventory *inventory.Inventory
}

// LoadPlan reads the inventory, the flows and the plan `ferry dev` wrote in
// dir, validates the plan and resolves it.
func LoadPlan(dir string) (*DevPlan, error) {
	inv, err := inventory.Load(filepath.Join(dir, "inventory.json"))
	if err != nil {
		return nil, err
	}
	agg := deps.NewAggregator()
	if err := agg.ReadFlowsFile(filepath.Join(dir, "flows.csv"), deps.ParseOptions{}); err != nil {
		return nil, err
	}
	d, err := agg.Analyze(inv, deps.Options{})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "ferry.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, diags := plan.Parse(file, src)
	if p != nil {
		diags = append(diags, plan.Validate(p, inv, d)...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		_ = plan.WriteDiagnostics(&buf, file, src, diags)
		return nil, fmt.Errorf("the dev plan %s has errors (delete it to regenerate):\n%s", file, buf.String())
	}
	specs, _ := plan.Resolve(p, inv, d)
	return &DevPlan{Plan: p, Specs: specs, Deps: d, Inventory: inv}, nil
}

// writeEnv writes the settings another shell needs, mode 0600: it holds
// the simulator's (throwaway) credentials, which are never printed.
func writeEnv(path string, st Stack, vc inventory.Config, ns, keyFile string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# written by ferry dev; source it in another shell\n")
	if exe, err := os.Executable(); err == nil {
		fmt.Fprintf(&b, "export PATH=%s:$PATH\n", filepath.Dir(exe)) // ferry and the pinned tools
	}
	fmt.Fprintf(&b, "export FERRY_TEMPORAL_ADDRESS=%s\nexport FERRY_NAMESPACE=%s\nexport FERRY_STATE_DIR=%s\n", st.TemporalAddress, ns, st.StateDir)
	fmt.Fprintf(&b, "export GOVC_URL=%s\nexport GOVC_USERNAME=%s\nexport GOVC_PASSWORD=%s\nexport GOVC_INSECURE=1\n", vc.URL, vc.Username, vc.Password)
	fmt.Fprintf(&b, "export FERRY_GCP_PROJECT=%s\nexport FERRY_GCP_REGION=%s\n", st.GCP.Project, st.GCP.Region)
	fmt.Fprintf(&b, "export FERRY_PLAN_STORE=%s\n", st.PlanStore)
	fmt.Fprintf(&b, "export FERRY_GCP_COMPUTE_ENDPOINT=%s\nexport FERRY_GCP_DNS_ENDPOINT=%s\nexport FERRY_GCP_STORAGE_ENDPOINT=%s\n", st.GCP.ComputeEndpoint, st.GCP.DNSEndpoint, st.GCP.StorageEndpoint)
	fmt.Fprintf(&b, "export FERRY_GCP_VMMIGRATION_ENDPOINT=%s\n", st.GCP.VMMigrationEndpoint)
	fmt.Fprintf(&b, "export FERRY_GCP_MONITORING_ENDPOINT=%s\n", st.GCP.MonitoringEndpoint)
	// The plan commands price from gcpfake's Cloud Billing Catalog API.
	fmt.Fprintf(&b, "export FERRY_GCP_BILLING_ENDPOINT=%s\n", st.GCP.BillingEndpoint)
	fmt.Fprintf(&b, "export FERRY_DEV_DNS=%s # gcpfake's Cloud DNS zones over DNS: dig -p PORT @HOST NAME\n", st.DNSAddr)
	// Another `ferry worker` on this stack probes as the stack's does.
	fmt.Fprintf(&b, "export FERRY_PROBE_RESOLVER=%s\n", st.DNSAddr)
	if st.DevCA != "" {
		fmt.Fprintf(&b, "export FERRY_PROBE_ROOT_CAS=%s\n", st.DevCA)
	}
	if keyFile != "" {
		fmt.Fprintf(&b, "export FERRY_CODEC_KEY_FILE=%s\n", keyFile)
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

func printBanner(w io.Writer, st Stack, f inputFiles, p *plan.Plan, specs []plan.AppSpec) {
	fmt.Fprintf(w, `
ferry dev is running (Ctrl-C stops all of it)

  Temporal UI        %s
  Temporal frontend  %s
  vCenter simulator  %s (%d apps)
  gcpfake            %s
  state              %s
  inventory, flows   %s, %s
  plan               %s
`, st.UIURL, st.TemporalAddress, st.VCenterURL, len(specs), st.GCP.ComputeEndpoint, st.StateDir, f.inventory, f.flows, f.plan)
	if st.DNSAddr != "" {
		host, port, _ := net.SplitHostPort(st.DNSAddr)
		fmt.Fprintf(w, "  cloud dns as dns   %s (dig @%s -p %s NAME: clients follow client_dns names)\n", st.DNSAddr, host, port)
	}
	if i := slices.IndexFunc(specs, func(s plan.AppSpec) bool { return s.Name == DevHTTPSApp && len(s.Cutover.ClientDNS) > 0 }); i >= 0 && st.DevCA != "" {
		fmt.Fprintf(w, "  dev CA             %s (signed %s, %s's name; the worker trusts it)\n", st.DevCA, specs[i].Cutover.PublicURL, DevHTTPSApp)
	}
	if st.MetricsURL != "" {
		fmt.Fprintf(w, "  worker metrics     %s (Prometheus: the SDK's temporal_* and ferry_*)\n", st.MetricsURL)
	}
	if st.CodecEndpoint != "" {
		fmt.Fprintf(w, "  codec server       %s (payloads are AES-256-GCM encrypted; the UI decrypts through it)\n", st.CodecEndpoint)
	}
	fmt.Fprintln(w)
	if st.DemoWave != "" {
		fmt.Fprintf(w, "Demo: wave %q started; its apps wait for plan approval in the UI within a minute.\n\n", st.DemoWave)
	}
	first := "billing-api"
	if len(specs) > 0 {
		first = specs[0].Name
		for _, s := range specs {
			if len(p.Waves) > 0 && s.Wave == p.Waves[0].Name {
				first = s.Name
				break
			}
		}
	}
	approver := "owner"
	for _, s := range specs {
		if s.Name == first && len(s.Approvers["plan"]) > 0 {
			approver = s.Approvers["plan"][0]
		}
	}
	fmt.Fprintf(w, `Next, in another shell:
  source %s
  ferry status                                   # every app: stage, waiting on whom
  FERRY_USER=%s ferry migrate start %s   # one app (if no demo wave runs it), signed as the plan's operator
  ferry migrate status %s
  FERRY_USER=%s ferry migrate approve %s --stage plan
  FERRY_USER=%s ferry wave start %s       # a wave: dependency order, concurrency cap
  open %s/namespaces/default/workflows       # approve from the UI: More Actions → Send a Signal
`, f.env, Operator, first, first, approver, first, Operator, firstWave(p), st.UIURL)
}

func firstWave(p *plan.Plan) string {
	if len(p.Waves) > 0 {
		return p.Waves[0].Name
	}
	return "wave-1"
}
