package inventory

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/runbooks"
)

// Decommissioning: what happens to an app's source VMs once it runs on GCP.
// Every action first checks that the VM behind the planned reference still
// has the planned name, so a plan that drifted from vCenter never powers
// off or deletes the wrong machine. Every action is idempotent.

// Tagging of decommissioned VMs.
const (
	DecommissionCategory = "ferry"
	DecommissionTag      = "decommissioned"
	// DecommissionedAtField is the custom attribute that holds the
	// decommission date (YYYY-MM-DD).
	DecommissionedAtField = "ferry.decommissionedAt"
)

// Final actions after the retention period.
const (
	FinalKeepOff = "keep-off"
	FinalArchive = "archive"
	FinalDelete  = "delete"
)

// DefaultArchiveFolder is used when the plan names none: a folder under the
// VM's datacenter VM folder.
const DefaultArchiveFolder = "ferry-archive"

// SourceVM is a VM as the plan names it.
type SourceVM struct {
	Ref  string `json:"ref"`  // managed object reference value, e.g. vm-42
	Name string `json:"name"` // its name when the plan was made
}

func (s SourceVM) String() string { return s.Ref + " " + s.Name }

// sourceState is what the identity check reads.
type sourceState struct {
	obj   *object.VirtualMachine
	power types.VirtualMachinePowerState
	tools string
	in    types.ManagedObjectReference // parent folder
}

// checkVM reads the VM behind s.Ref and fails with
// runbooks.ReasonVMIdentityMismatch when it is gone or named differently.
func (c *Client) checkVM(ctx context.Context, s SourceVM) (*sourceState, error) {
	mor := types.ManagedObjectReference{Type: "VirtualMachine", Value: s.Ref}
	var vm mo.VirtualMachine
	pc := property.DefaultCollector(c.vim)
	err := c.retry(ctx, "check VM "+s.String(), func() error {
		return pc.RetrieveOne(ctx, mor, []string{"name", "parent", "runtime.powerState", "guest.toolsRunningStatus"}, &vm)
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if _, ok := faultOf(e.Err).(*types.ManagedObjectNotFound); ok {
				return nil, c.mismatch(s, fmt.Sprintf("VM %s no longer exists in vCenter", s.Ref))
			}
		}
		return nil, err
	}
	if vm.Name != s.Name {
		return nil, c.mismatch(s, fmt.Sprintf("VM %s is named %q in vCenter, the plan says %q", s.Ref, vm.Name, s.Name))
	}
	st := &sourceState{obj: object.NewVirtualMachine(c.vim, mor), power: vm.Runtime.PowerState}
	if vm.Guest != nil {
		st.tools = vm.Guest.ToolsRunningStatus
	}
	if vm.Parent != nil {
		st.in = *vm.Parent
	}
	return st, nil
}

func (c *Client) mismatch(s SourceVM, what string) error {
	return &Error{Kind: KindFault, Reason: runbooks.ReasonVMIdentityMismatch, Op: "check VM identity", Source: c.source,
		Msg: what + ": ferry acts on no VM the plan does not name exactly; run 'ferry discover', fix the app's VMs in the plan, and retry"}
}

func (c *Client) fail(op string, s SourceVM, err error) error {
	err = classify(op+" "+s.String(), c.source, err)
	var e *Error
	if errors.As(err, &e) && e.Reason == runbooks.ReasonVCenterFault {
		e.Reason = runbooks.ReasonDecommission
	}
	return err
}

// PowerOffSource shuts the VM down: a guest shutdown when VMware Tools run,
// a hard power-off when they do not or when the guest is still on after
// shutdownTimeout. An already powered-off VM is left as it is. It returns
// what it did, e.g. "vm-42 web-1: guest shutdown".
func (c *Client) PowerOffSource(ctx context.Context, s SourceVM, shutdownTimeout time.Duration) (string, error) {
	st, err := c.checkVM(ctx, s)
	if err != nil {
		return "", err
	}
	if st.power == types.VirtualMachinePowerStatePoweredOff {
		return s.String() + ": already powered off", nil
	}
	how := "hard power-off (VMware Tools not running)"
	if st.power == types.VirtualMachinePowerStatePoweredOn && st.tools == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		if err := st.obj.ShutdownGuest(ctx); err == nil {
			wctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
			err = st.obj.WaitForPowerState(wctx, types.VirtualMachinePowerStatePoweredOff)
			cancel()
			if err == nil {
				return s.String() + ": guest shutdown", nil
			}
			if ctx.Err() != nil {
				return "", c.fail("wait for guest shutdown of", s, ctx.Err())
			}
			how = fmt.Sprintf("hard power-off (guest still on %s after shutdown)", shutdownTimeout)
		} else {
			how = "hard power-off (guest shutdown refused: " + faultName(err) + ")"
		}
		if st, err = c.checkVM(ctx, s); err != nil {
			return "", err
		}
		if st.power == types.VirtualMachinePowerStatePoweredOff {
			return s.String() + ": guest shutdown", nil
		}
	}
	if err := c.hardOff(ctx, s, st); err != nil {
		return "", err
	}
	return s.String() + ": " + how, nil
}

func (c *Client) hardOff(ctx context.Context, s SourceVM, st *sourceState) error {
	task, err := st.obj.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if _, ok := faultOf(err).(*types.InvalidPowerState); ok {
		return nil // it went off in between
	}
	if err != nil {
		return c.fail("power off", s, err)
	}
	return nil
}

// PowerOnSource powers the VM back on (rollback) and removes the
// decommission tag and date. An already running VM is left as it is.
func (c *Client) PowerOnSource(ctx context.Context, s SourceVM) (string, error) {
	return c.RestoreSource(ctx, s, true)
}

// RestoreSource gives a source VM back to the datacenter as it was before
// the migration: powered on when it was (powerOn), left as it is when it
// was off (a cold standby stays cold), and its decommission mark removed
// either way.
func (c *Client) RestoreSource(ctx context.Context, s SourceVM, powerOn bool) (string, error) {
	st, err := c.checkVM(ctx, s)
	if err != nil {
		return "", err
	}
	did := "already powered on"
	if !powerOn {
		did = "left " + string(st.power) + " (it was powered off before the migration)"
	} else if st.power != types.VirtualMachinePowerStatePoweredOn {
		task, err := st.obj.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if _, ok := faultOf(err).(*types.InvalidPowerState); err != nil && !ok {
			return "", c.fail("power on", s, err)
		}
		did = "powered on"
	}
	if err := c.unmark(ctx, s, st); err != nil {
		return "", err
	}
	return s.String() + ": " + did, nil
}

// MarkDecommissioned tags the VM ferry:decommissioned (creating the
// category and tag when missing) and records the date in the
// DecommissionedAtField custom attribute.
func (c *Client) MarkDecommissioned(ctx context.Context, s SourceVM, at time.Time) (string, error) {
	st, err := c.checkVM(ctx, s)
	if err != nil {
		return "", err
	}
	tagID, err := c.decommissionTag(ctx, true)
	if err != nil {
		return "", err
	}
	if err := c.tags.AttachTag(ctx, tagID, st.obj.Reference()); err != nil {
		return "", c.fail("tag "+DecommissionCategory+":"+DecommissionTag, s, err)
	}
	date := at.UTC().Format(time.DateOnly)
	if err := c.setDate(ctx, s, st, date); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: tagged %s:%s, %s=%s", s, DecommissionCategory, DecommissionTag, DecommissionedAtField, date), nil
}

func (c *Client) unmark(ctx context.Context, s SourceVM, st *sourceState) error {
	tagID, err := c.decommissionTag(ctx, false)
	if err != nil || tagID == "" {
		return err
	}
	if err := c.tags.DetachTag(ctx, tagID, st.obj.Reference()); err != nil {
		return c.fail("untag", s, err)
	}
	return c.setDate(ctx, s, st, "")
}

// decommissionTag returns the tag's id, creating category and tag when
// create is set (and returning "" when it is not and they do not exist).
func (c *Client) decommissionTag(ctx context.Context, create bool) (string, error) {
	if c.tags == nil {
		return "", &Error{Kind: KindFault, Reason: runbooks.ReasonDecommission, Op: "tag", Source: c.source,
			Msg: "no vSphere REST session for tags"}
	}
	var catID string
	for attempt := 0; catID == "" && attempt < 2; attempt++ {
		cats, err := c.tags.GetCategories(ctx)
		if err != nil {
			return "", classify("list tag categories", c.source, err)
		}
		for _, cat := range cats {
			if cat.Name == DecommissionCategory {
				catID = cat.ID
			}
		}
		if catID != "" || !create {
			break
		}
		// A concurrent activity may create it first: then re-read.
		catID, _ = c.tags.CreateCategory(ctx, &tags.Category{Name: DecommissionCategory,
			Description: "set by ferry", Cardinality: "MULTIPLE", AssociableTypes: []string{"VirtualMachine"}})
	}
	if catID == "" {
		if !create {
			return "", nil
		}
		return "", &Error{Kind: KindTransient, Reason: runbooks.ReasonDecommission, Op: "create tag category " + DecommissionCategory, Source: c.source,
			Msg: "could not create or find the category; check the user may create tag categories"}
	}
	for attempt := 0; attempt < 2; attempt++ {
		ts, err := c.tags.GetTagsForCategory(ctx, catID)
		if err != nil {
			return "", classify("list tags of category "+DecommissionCategory, c.source, err)
		}
		for _, t := range ts {
			if t.Name == DecommissionTag {
				return t.ID, nil
			}
		}
		if !create {
			return "", nil
		}
		if id, err := c.tags.CreateTag(ctx, &tags.Tag{Name: DecommissionTag, CategoryID: catID,
			Description: "source VM retired by ferry; see " + DecommissionedAtField}); err == nil {
			return id, nil
		}
	}
	return "", &Error{Kind: KindTransient, Reason: runbooks.ReasonDecommission, Op: "create tag " + DecommissionTag, Source: c.source,
		Msg: "could not create or find the tag; check the user may create tags"}
}

func (c *Client) setDate(ctx context.Context, s SourceVM, st *sourceState, value string) error {
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return c.fail("custom attributes for", s, err)
	}
	key, err := m.FindKey(ctx, DecommissionedAtField)
	if errors.Is(err, object.ErrKeyNameNotFound) {
		if value == "" {
			return nil
		}
		def, aerr := m.Add(ctx, DecommissionedAtField, "VirtualMachine", nil, nil)
		if aerr == nil {
			key = def.Key
		} else if _, dup := faultOf(aerr).(*types.DuplicateName); dup {
			key, err = m.FindKey(ctx, DecommissionedAtField) // created concurrently
		} else {
			err = aerr
		}
		if err == object.ErrKeyNameNotFound {
			err = nil
		}
	}
	if err != nil {
		return c.fail("custom attribute "+DecommissionedAtField+" for", s, err)
	}
	if err := m.Set(ctx, st.obj.Reference(), key, value); err != nil {
		return c.fail("set "+DecommissionedAtField+" on", s, err)
	}
	return nil
}

// faultOf is vimFault that accepts nil.
func faultOf(err error) types.BaseMethodFault {
	if err == nil {
		return nil
	}
	return vimFault(err)
}

func faultName(err error) string {
	if f := faultOf(err); f != nil {
		return strings.TrimPrefix(fmt.Sprintf("%T", f), "*types.")
	}
	return err.Error()
}

// FinalizeSource applies the plan's final action after the retention
// period: keep-off (make sure it is off), archive (off, then moved into the
// archive folder, created when missing) or delete (off, then destroyed).
// archiveFolder is an inventory path ("/DC0/vm/archive") or a path relative
// to the VM's datacenter VM folder; empty means DefaultArchiveFolder.
func (c *Client) FinalizeSource(ctx context.Context, s SourceVM, action, archiveFolder string, shutdownTimeout time.Duration) (string, error) {
	switch action {
	case FinalKeepOff, FinalArchive, FinalDelete, "":
	default:
		return "", &Error{Kind: KindFault, Reason: runbooks.ReasonDecommission, Op: "finalize " + s.String(), Source: c.source,
			Msg: fmt.Sprintf("unknown final action %q: the plan must say keep-off, archive or delete", action)}
	}
	if action == FinalDelete {
		if _, err := c.checkVM(ctx, s); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Reason == runbooks.ReasonVMIdentityMismatch && strings.Contains(e.Msg, "no longer exists") {
				// A retry after a destroy that succeeded: the reference
				// was checked against the name before that destroy.
				return s.String() + ": already deleted", nil
			}
			return "", err
		}
	}
	off, err := c.PowerOffSource(ctx, s, shutdownTimeout)
	if err != nil {
		return "", err
	}
	switch action {
	case FinalArchive:
		return c.archive(ctx, s, archiveFolder)
	case FinalDelete:
		st, err := c.checkVM(ctx, s)
		if err != nil {
			return "", err
		}
		task, err := st.obj.Destroy(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			return "", c.fail("delete", s, err)
		}
		return s.String() + ": deleted", nil
	default:
		return off + ", kept powered off", nil
	}
}

func (c *Client) archive(ctx context.Context, s SourceVM, folder string) (string, error) {
	if folder == "" {
		folder = DefaultArchiveFolder
	}
	st, err := c.checkVM(ctx, s)
	if err != nil {
		return "", err
	}
	ancestors, err := mo.Ancestors(ctx, c.vim, c.vim.ServiceContent.PropertyCollector, st.obj.Reference())
	if err != nil {
		return "", c.fail("find datacenter of", s, err)
	}
	var dcPath string
	for _, a := range ancestors {
		if a.Self.Type == "Datacenter" {
			if dcPath, err = find.InventoryPath(ctx, c.vim, a.Self); err != nil {
				return "", c.fail("find datacenter of", s, err)
			}
		}
	}
	if dcPath == "" {
		return "", c.fail("find datacenter of", s, errors.New("no datacenter among its ancestors"))
	}
	abs := folder
	if !strings.HasPrefix(abs, "/") {
		abs = path.Join(dcPath, "vm", folder)
	}
	f, err := c.ensureFolder(ctx, path.Clean(abs), dcPath)
	if err != nil {
		return "", c.fail("archive folder "+abs+" for", s, err)
	}
	if st.in == f.Reference() {
		return fmt.Sprintf("%s: already in %s", s, abs), nil
	}
	task, err := f.MoveInto(ctx, []types.ManagedObjectReference{st.obj.Reference()})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return "", c.fail("move into "+abs, s, err)
	}
	return fmt.Sprintf("%s: moved to %s", s, abs), nil
}

// ensureFolder finds the VM folder at abs, creating it and its missing
// parents below the datacenter's VM folder.
func (c *Client) ensureFolder(ctx context.Context, abs, dcPath string) (*object.Folder, error) {
	finder := find.NewFinder(c.vim)
	f, err := finder.Folder(ctx, abs)
	if err == nil {
		return f, nil
	}
	var nf *find.NotFoundError
	if !errors.As(err, &nf) || abs == path.Join(dcPath, "vm") || !strings.HasPrefix(abs, path.Join(dcPath, "vm")+"/") {
		return nil, err
	}
	parent, err := c.ensureFolder(ctx, path.Dir(abs), dcPath)
	if err != nil {
		return nil, err
	}
	f, err = parent.CreateFolder(ctx, path.Base(abs))
	if _, dup := faultOf(err).(*types.DuplicateName); dup {
		return finder.Folder(ctx, abs)
	}
	return f, err
}
