package sample

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // serves the tagging REST API
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/inventory"
)

// Tag categories and custom attributes the simulator sets, matching
// inventory.DefaultOptions.
const (
	CategoryApp      = "app"
	CategoryOwner    = "owner"
	CategorySquad    = "squad"
	CategoryTier     = "tier"
	AttributeRunbook = "runbook"
	AttributeDeps    = "depends-on"
	simUser          = "ferry"
)

// Simulator is an in-process vCenter (govmomi's vcsim, VPX model, HTTPS on
// 127.0.0.1, tagging REST API) holding a portfolio.
type Simulator struct {
	model  *simulator.Model
	server *simulator.Server
	cfg    inventory.Config
	refs   map[string]string // "datacenter/name" -> ref
}

// Start builds the portfolio in a fresh simulator. App VMs carry tags
// app, owner, squad and tier, custom attributes runbook and depends-on; VMs
// of an app with an empty name get neither. Powered-on VMs get their guest
// IP, host name and quickStats through the simulator's SET.* ExtraConfig
// keys; a powered-on VM without an IP reports no VMware Tools.
func Start(ctx context.Context, p *Portfolio) (*Simulator, error) {
	var dcs []string
	for _, a := range p.Apps {
		for _, v := range a.VMs {
			if !slices.Contains(dcs, v.Datacenter) {
				dcs = append(dcs, v.Datacenter)
			}
		}
	}
	slices.Sort(dcs)
	if len(dcs) == 0 {
		dcs = DatacenterNames(1)
	}

	m := simulator.VPX()
	m.Datacenter = len(dcs)
	m.Cluster = 2
	m.ClusterHost = 2
	m.Host = 0
	m.Machine = 0
	m.Autostart = false
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(simUser, randomSecret())}
	srv := m.Service.NewServer()
	pass, _ := srv.URL.User.Password()
	u := *srv.URL
	u.User = nil
	s := &Simulator{model: m, server: srv, refs: map[string]string{},
		cfg: inventory.Config{URL: u.String(), Username: simUser, Password: pass, Insecure: true}}

	c, err := inventory.Connect(ctx, s.cfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	if err := s.populate(ctx, c, p, dcs); err != nil {
		s.Close()
		return nil, fmt.Errorf("simulator: build sample portfolio: %w", err)
	}
	return s, nil
}

// Config is how to reach the simulator: URL without credentials, plus
// Username, Password and Insecure (its certificate is self-signed).
func (s *Simulator) Config() inventory.Config { return s.cfg }

// Service is the simulator's SOAP service, for fault injection in tests.
func (s *Simulator) Service() *simulator.Service { return s.model.Service }

// VMRef returns the managed object reference of a portfolio VM.
func (s *Simulator) VMRef(datacenter, name string) string { return s.refs[datacenter+"/"+name] }

// Close stops the server and removes the simulator's temporary files.
func (s *Simulator) Close() {
	if s.server != nil {
		s.server.Close()
	}
	s.model.Remove()
}

func randomSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dcEnv is where one datacenter's VMs go.
type dcEnv struct {
	folders *object.DatacenterFolders
	pools   []*object.ResourcePool
	backing types.BaseVirtualDeviceBackingInfo
	ds      string
	sub     map[string]*object.Folder
}

func (s *Simulator) populate(ctx context.Context, c *inventory.Client, p *Portfolio, dcs []string) error {
	vim := c.Vim()
	finder := find.NewFinder(vim)
	envs := map[string]*dcEnv{}
	for i, name := range dcs {
		dc, err := finder.Datacenter(ctx, fmt.Sprintf("DC%d", i))
		if err != nil {
			return err
		}
		if err := wait(ctx)(dc.Rename(ctx, name)); err != nil {
			return fmt.Errorf("rename datacenter to %q: %w", name, err)
		}
		finder.SetDatacenter(dc)
		env := &dcEnv{sub: map[string]*object.Folder{}}
		if env.folders, err = dc.Folders(ctx); err != nil {
			return err
		}
		cls, err := finder.ClusterComputeResourceList(ctx, "*")
		if err != nil {
			return err
		}
		for j, cl := range cls {
			if err := wait(ctx)(cl.Rename(ctx, fmt.Sprintf("%s-cluster-%d", name, j+1))); err != nil {
				return err
			}
			pool, err := cl.ResourcePool(ctx)
			if err != nil {
				return err
			}
			env.pools = append(env.pools, pool)
		}
		ds, err := finder.Datastore(ctx, "*")
		if err != nil {
			return err
		}
		env.ds = ds.Name()
		pg, err := appPortgroup(ctx, finder)
		if err != nil {
			return err
		}
		if env.backing, err = pg.EthernetCardBackingInfo(ctx); err != nil {
			return err
		}
		envs[name] = env
	}

	cfm := object.NewCustomFieldsManager(vim)
	runbookKey, err := field(ctx, cfm, AttributeRunbook)
	if err != nil {
		return err
	}
	depsKey, err := field(ctx, cfm, AttributeDeps)
	if err != nil {
		return err
	}
	tg := newTagger(c.Tags())

	n := 0
	for ai, a := range p.Apps {
		for _, v := range a.VMs {
			n++
			env := envs[v.Datacenter]
			// An app's VMs share a cluster; apps alternate between clusters.
			pool := env.pools[ai%len(env.pools)]
			ref, err := s.createVM(ctx, vim, env, pool, a, v, n)
			if err != nil {
				return fmt.Errorf("VM %q: %w", v.Name, err)
			}
			s.refs[v.Datacenter+"/"+v.Name] = ref.Value
			if a.Name == "" {
				continue
			}
			if a.Runbook != "" {
				if err := cfm.Set(ctx, ref, runbookKey, a.Runbook); err != nil {
					return err
				}
			}
			if len(a.DependsOn) > 0 {
				if err := cfm.Set(ctx, ref, depsKey, strings.Join(a.DependsOn, ",")); err != nil {
					return err
				}
			}
			for cat, val := range map[string]string{CategoryApp: a.Name, CategoryOwner: a.Owner, CategorySquad: a.Squad, CategoryTier: a.Tier} {
				if val != "" {
					tg.add(cat, val, ref)
				}
			}
		}
	}
	return tg.flush(ctx)
}

func (s *Simulator) createVM(ctx context.Context, vim *vim25.Client, env *dcEnv, pool *object.ResourcePool, a App, v VM, n int) (types.ManagedObjectReference, error) {
	folder := env.folders.VmFolder
	if a.Squad != "" {
		f, ok := env.sub[a.Squad]
		if !ok {
			var err error
			if f, err = folder.CreateFolder(ctx, a.Squad); err != nil {
				return types.ManagedObjectReference{}, err
			}
			env.sub[a.Squad] = f
		}
		folder = f
	}
	guest := v.GuestID
	if guest == "" {
		guest = string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest)
	}
	// The VM's directory avoids its (possibly odd) display name.
	dir := fmt.Sprintf("[%s] ferry-vm-%d", env.ds, n)
	spec := types.VirtualMachineConfigSpec{
		Name: fmt.Sprintf("ferry-vm-%d", n), GuestId: guest, NumCPUs: max(v.CPU, 1), MemoryMB: max(v.MemoryMB, 512),
		Annotation: "sample portfolio VM",
		Files:      &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("%s/ferry-vm-%d.vmx", dir, n)},
	}
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{}, dir+"/disk1.vmdk")
	disk.CapacityInKB = max(v.DiskGB, 1) << 20
	disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ThinProvisioned = types.NewBool(v.DiskGB >= 100)
	nic, err := devices.CreateEthernetCard("vmxnet3", env.backing)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	devices = append(devices, disk, nic)
	if spec.DeviceChange, err = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd); err != nil {
		return types.ManagedObjectReference{}, err
	}
	task, err := folder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	ref := info.Result.(types.ManagedObjectReference)
	vm := object.NewVirtualMachine(vim, ref)
	// vcsim derives file names from the name at create time and chokes on
	// escaped characters, so VMs are created under a plain name and renamed.
	if err := wait(ctx)(vm.Rename(ctx, vcenterName.Replace(v.Name))); err != nil {
		return ref, fmt.Errorf("rename: %w", err)
	}
	if v.PoweredOn {
		if err := wait(ctx)(vm.PowerOn(ctx)); err != nil {
			return ref, err
		}
		if err := wait(ctx)(vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: guestState(v, n)})); err != nil {
			return ref, err
		}
	}
	return ref, plant(ctx, vim, env, vm, dir, v)
}

// guestState is what VMware Tools and vCenter's stats would report, set
// through the simulator's SET.* ExtraConfig keys.
func guestState(v VM, n int) []types.BaseOptionValue {
	set := func(k string, val any) types.BaseOptionValue { return &types.OptionValue{Key: "SET." + k, Value: val} }
	if v.IP == "" {
		return []types.BaseOptionValue{set("guest.toolsStatus", string(types.VirtualMachineToolsStatusToolsNotInstalled))}
	}
	host := strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, v.Name))
	// Usage between 15 % and 75 % of the allocation, varying by VM.
	pct := int64(15 + (n*37)%60)
	return []types.BaseOptionValue{
		set("guest.toolsStatus", string(types.VirtualMachineToolsStatusToolsOk)),
		set("guest.toolsRunningStatus", string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)),
		set("guest.ipAddress", v.IP),
		set("guest.hostName", host+".corp.example.com"),
		set("summary.quickStats.overallCpuUsage", int32(int64(max(v.CPU, 1))*2400*pct/100)),
		set("summary.quickStats.guestMemoryUsage", int32(v.MemoryMB*pct/100)),
		set("summary.quickStats.uptimeSeconds", int32(86400*(1+n%90))),
	}
}

// appPortgroup is the datacenter's first distributed portgroup that is not
// the switch's uplink group.
func appPortgroup(ctx context.Context, f *find.Finder) (object.NetworkReference, error) {
	nets, err := f.NetworkList(ctx, "*")
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if pg, ok := n.(*object.DistributedVirtualPortgroup); ok && !strings.Contains(pg.Name(), "Uplinks") {
			return pg, nil
		}
	}
	return nil, fmt.Errorf("no distributed portgroup in the simulator model")
}

// vcenterName escapes a display name as vCenter stores it: '%', '/' and
// '\\' become %25, %2f and %5c (what the vSphere Client does on create).
var vcenterName = strings.NewReplacer("%", "%25", "/", "%2f", `\`, "%5c")

func field(ctx context.Context, m *object.CustomFieldsManager, name string) (int32, error) {
	def, err := m.Add(ctx, name, "VirtualMachine", nil, nil)
	if err != nil {
		return 0, fmt.Errorf("custom attribute %q: %w", name, err)
	}
	return def.Key, nil
}

func wait(ctx context.Context) func(*object.Task, error) error {
	return func(t *object.Task, err error) error {
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	}
}

// Discover starts a simulator holding p, discovers it with opts and stops
// it: the inventory a newcomer gets from `ferry discover --sample`.
func Discover(ctx context.Context, p *Portfolio, opts inventory.Options) (*inventory.Inventory, error) {
	s, err := Start(ctx, p)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	c, err := inventory.Connect(ctx, s.Config())
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	return inventory.Discover(ctx, c, opts)
}
