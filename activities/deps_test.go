package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // the tagging REST API
	"github.com/vmware/govmomi/vim25/types"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
)

// depsVCSim starts vcsim with VMs named after apps (the default name rule
// makes web-1 part of app web) and guest IPs set through SET.* keys.
func depsVCSim(t *testing.T, vms map[string]string) inventory.Config {
	t.Helper()
	m := simulator.VPX()
	m.Machine = 3
	srv, _ := sample.ServeT(t, m)
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	list, err := find.NewFinder(c.Client, true).VirtualMachineList(ctx, "/DC0/vm/*")
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range vms {
			if !yield(n) {
				return
			}
		}
	})
	if len(list) < len(names) {
		t.Fatalf("vcsim has %d VMs, need %d", len(list), len(names))
	}
	for i, name := range names {
		vm := list[i]
		task, err := vm.Rename(ctx, name)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("rename %s: %v", name, err)
		}
		task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: "SET.guest.ipAddress", Value: vms[name]},
		}})
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("set IP of %s: %v", name, err)
		}
	}
	u := *srv.URL
	pass, _ := u.User.Password()
	user := u.User.Username()
	u.User = nil
	return inventory.Config{URL: u.String(), Username: user, Password: pass, Insecure: true, MaxAttempts: 1}
}

func TestCheckDependencies(t *testing.T) {
	cfg := depsVCSim(t, map[string]string{"web-1": "10.0.0.1", "api-1": "10.0.0.2", "db-1": "10.0.0.3"})
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows.csv")
	os.WriteFile(flows, []byte("src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n"+
		"10.0.0.1,10.0.0.2,8080,tcp,100,1,,\n"+
		"10.0.0.2,10.0.0.3,5432,tcp,100,1,,\n"+
		"10.0.0.2,192.0.2.9,443,tcp,10,1,,\n"), 0o644)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, VCenter: cfg, Flows: []string{flows}, Visibility: &fakevis.Visibility{}}
	env.RegisterActivity(a)

	val, err := env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"}), Migrated: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	var res CheckDependenciesResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.DependsOn, []string{"db", "ext:192.0.2.9"}) || !slices.Equal(res.Dependants, []string{"web"}) ||
		!slices.Equal(res.BlastRadius, []string{"web"}) || !slices.Equal(res.LeftBehind, []string{"db"}) {
		t.Errorf("result %+v", res)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "192.0.2.9") {
		t.Errorf("warnings %v", res.Warnings)
	}

	// db migrated: nothing left behind
	val, err = env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"}), Migrated: []string{"db"}})
	if err != nil {
		t.Fatal(err)
	}
	res = CheckDependenciesResult{}
	val.Get(&res)
	if len(res.LeftBehind) != 0 {
		t.Errorf("left behind %v", res.LeftBehind)
	}

	// a malformed line: non-retryable, naming file:line
	os.WriteFile(flows, []byte("src_ip,dst_ip,dst_port\n10.0.0.1,10.0.0.2,80\n10.0.0.1,10.0.0.2,http\n"), 0o644)
	_, err = env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"})})
	var appErr *temporal.ApplicationError
	if !asAppError(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != string(ReasonFlowsInvalid) || !strings.Contains(err.Error(), flows+":3:") {
		t.Errorf("bad flow file: %v", err)
	}

	// an unknown app
	os.WriteFile(flows, []byte("src_ip,dst_ip,dst_port\n"), 0o644)
	_, err = env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "nope"})})
	if !asAppError(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), `"nope" is not in the inventory`) {
		t.Errorf("unknown app: %v", err)
	}
}

func TestCheckDependenciesUnreachable(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, VCenter: inventory.Config{URL: "https://127.0.0.1:1/sdk", Username: "u", Password: "secret-pw", Insecure: true, MaxAttempts: 1}}
	env.RegisterActivity(a)
	_, err := env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"})})
	if err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("unreachable vCenter: %v", err)
	}
}

func asAppError(err error, target **temporal.ApplicationError) bool { return errors.As(err, target) }
