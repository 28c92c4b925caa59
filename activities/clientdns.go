package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// Client names: the DNS names clients reach the app by today (the plan's
// cutover client_dns blocks), moved onto the new path. The workflow calls
// PrepareClientDNS before the cutover and waits out its Wait; then
// PointClientDNS when clients move (before the first traffic step with a
// load balancer, at 100 % without one); RestoreClientDNS on rollback with
// the Prepare result's Names; FinalizeClientDNS after the bake (or the
// rollback) with the same Names. Apps without client_dns get empty
// results at once.

// ClientDNSInput names the app whose client names move.
type ClientDNSInput struct {
	Plan PlanRef `json:"plan"`
}

// PrepareClientDNSResult is what clients used before the cutover, per
// name: the workflow keeps Names for RestoreClientDNS and
// FinalizeClientDNS.
type PrepareClientDNSResult struct {
	Names []traffic.ClientNameState `json:"names,omitempty"`
	// WaitUntil is when the last resolver may drop an answer with an old
	// TTL: PointClientDNS moves clients within ttl_during only after it.
	WaitUntil time.Time `json:"waitUntil,omitzero"`
	// Wait is WaitUntil less the time the activity finished (0 when past).
	Wait time.Duration `json:"wait"`
}

// PointClientDNSResult says where the names point now.
type PointClientDNSResult struct {
	Names   []string        `json:"names,omitempty"`
	Serving traffic.Serving `json:"serving"`
	At      time.Time       `json:"at"`
}

// RestoreClientDNSInput carries the originals PrepareClientDNS returned
// (its Names); a name without one is restored from the zone's change
// history (Cloud DNS) or left to its hook.
type RestoreClientDNSInput struct {
	Plan     PlanRef                   `json:"plan"`
	Original []traffic.ClientNameState `json:"original,omitempty"`
}

// FinalizeClientDNSInput is as RestoreClientDNSInput.
type FinalizeClientDNSInput = RestoreClientDNSInput

// ClientDNSResult lists the names an activity went through.
type ClientDNSResult struct {
	Names []string  `json:"names,omitempty"`
	At    time.Time `json:"at"`
}

// PrepareClientDNS records each client name's records and lowers their
// TTL to the plan's ttl_during.
func (a *Activities) PrepareClientDNS(ctx context.Context, in ClientDNSInput) (PrepareClientDNSResult, error) {
	var res PrepareClientDNSResult
	err := a.eachClientName(ctx, in.Plan, nil, func(spec plan.AppSpec, c plan.ClientDNS, api traffic.ClientDNSAPI) error {
		var st traffic.ClientNameState
		var err error
		if c.ExternalHook != "" {
			st, err = a.clientDNSHook(ctx, in.Plan, spec, c, "prepare", nil, nil)
		} else {
			st, err = traffic.NewClientDNS(api, a.Traffic, c).Prepare(ctx)
		}
		if err != nil {
			return err
		}
		res.Names = append(res.Names, st)
		if st.WaitUntil.After(res.WaitUntil) {
			res.WaitUntil = st.WaitUntil
		}
		activity.GetLogger(ctx).Info("client name prepared", "app", spec.Name, "name", c.Name, "ttl", st.TTLDuring, "waitUntil", st.WaitUntil)
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Wait = max(time.Until(res.WaitUntil), 0).Round(time.Second)
	return res, nil
}

// PointClientDNS points each client name at the addresses that serve the
// app's clients: its load balancer's, else its front-end instances'.
func (a *Activities) PointClientDNS(ctx context.Context, in ClientDNSInput) (PointClientDNSResult, error) {
	var res PointClientDNSResult
	err := a.eachClientName(ctx, in.Plan, &res.Serving, func(spec plan.AppSpec, c plan.ClientDNS, api traffic.ClientDNSAPI) error {
		var err error
		if c.ExternalHook != "" {
			_, err = a.clientDNSHook(ctx, in.Plan, spec, c, "point", res.Serving.Addresses, nil)
		} else {
			err = traffic.NewClientDNS(api, a.Traffic, c).PointAt(ctx, res.Serving.Addresses)
		}
		if err != nil {
			return err
		}
		res.Names = append(res.Names, c.Name)
		activity.GetLogger(ctx).Info("client name points at the new path", "app", spec.Name, "name", c.Name, "via", res.Serving.Via)
		return nil
	})
	res.At = time.Now().UTC()
	return res, err
}

// RestoreClientDNS puts each client name's original records back (with
// the low TTL, until FinalizeClientDNS).
func (a *Activities) RestoreClientDNS(ctx context.Context, in RestoreClientDNSInput) (ClientDNSResult, error) {
	return a.restoreClientDNS(ctx, in, "restore")
}

// FinalizeClientDNS gives each client name its original TTL back, on the
// records it has now: after the bake, or after a rollback's restore.
func (a *Activities) FinalizeClientDNS(ctx context.Context, in FinalizeClientDNSInput) (ClientDNSResult, error) {
	return a.restoreClientDNS(ctx, in, "finalize")
}

func (a *Activities) restoreClientDNS(ctx context.Context, in RestoreClientDNSInput, action string) (ClientDNSResult, error) {
	var res ClientDNSResult
	err := a.eachClientName(ctx, in.Plan, nil, func(spec plan.AppSpec, c plan.ClientDNS, api traffic.ClientDNSAPI) error {
		// Only the plan's names are touched; the payload gives data.
		var orig []traffic.DNSRecord
		if i := slices.IndexFunc(in.Original, func(s traffic.ClientNameState) bool { return s.Name == c.Name }); i >= 0 {
			orig = in.Original[i].Original
		}
		var err error
		switch {
		case c.ExternalHook != "":
			_, err = a.clientDNSHook(ctx, in.Plan, spec, c, action, nil, orig)
		case action == "restore":
			err = traffic.NewClientDNS(api, a.Traffic, c).Restore(ctx, orig)
		default:
			err = traffic.NewClientDNS(api, a.Traffic, c).Finalize(ctx, orig)
		}
		if err != nil {
			return err
		}
		res.Names = append(res.Names, c.Name)
		activity.GetLogger(ctx).Info("client name "+action+"d", "app", spec.Name, "name", c.Name)
		return nil
	})
	res.At = time.Now().UTC()
	return res, err
}

// eachClientName runs f for each client_dns entry of the app's reviewed
// plan, with a Cloud DNS client; with a serving it first fills it with
// the app's serving addresses.
func (a *Activities) eachClientName(ctx context.Context, ref PlanRef, serving *traffic.Serving,
	f func(plan.AppSpec, plan.ClientDNS, traffic.ClientDNSAPI) error) error {
	spec, err := a.spec(ctx, ref)
	if err != nil {
		return err
	}
	if len(spec.Cutover.ClientDNS) == 0 {
		return nil
	}
	g := a.gcpFor(spec)
	clients, err := traffic.NewClientDNSClients(ctx, a.Traffic, g, g.Project, g.Zone, serving != nil)
	if err != nil {
		return trafficError(err, runbooks.ReasonTrafficShift)
	}
	defer clients.Close()
	if serving != nil {
		sv, err := traffic.ServingAddresses(ctx, clients.Serving, g.Project, spec)
		if err != nil {
			return trafficError(err, runbooks.ReasonTrafficShift)
		}
		*serving = sv
	}
	for _, c := range spec.Cutover.ClientDNS {
		if err := f(spec, c, clients.DNS); err != nil {
			var app *temporal.ApplicationError
			if errors.As(err, &app) {
				return err
			}
			return trafficError(err, runbooks.ReasonTrafficShift)
		}
	}
	return nil
}

// hookReport is what a client_dns hook writes to $FERRY_DNS_RESULT on
// prepare.
type hookReport struct {
	Records []traffic.DNSRecord `json:"records"`
}

// clientDNSHook runs the app's external DNS hook for one name and action
// (prepare, point, restore, finalize). The hook gets what to do in its
// environment (docs/plan.md, "Client names"); on prepare it reports the
// records as they were before ferry changed anything.
func (a *Activities) clientDNSHook(ctx context.Context, ref PlanRef, spec plan.AppSpec, c plan.ClientDNS, action string,
	addrs []string, original []traffic.DNSRecord) (traffic.ClientNameState, error) {
	st := traffic.ClientNameState{Name: c.Name, TTLDuring: int64(c.TTLDuring / time.Second)}
	i := slices.IndexFunc(spec.Hooks, func(h plan.HookSpec) bool { return h.Name == c.ExternalHook && h.At == plan.HookClientDNS })
	if i < 0 {
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s: the reviewed plan %s has no client_dns hook %q for %s", ref.App, ref.Digest, c.ExternalHook, c.Name),
			string(runbooks.ReasonPlanDigestUnknown), nil)
	}
	hook := spec.Hooks[i]
	if len(original) > 0 {
		if err := traffic.CheckRecords(original); err != nil {
			return st, temporal.NewNonRetryableApplicationError(fmt.Sprintf("app %s: original records of %s: %v", spec.Name, c.Name, err),
				string(runbooks.ReasonTrafficShift), nil)
		}
	}
	dir, err := os.MkdirTemp("", "ferry-dns-")
	if err != nil {
		return st, fmt.Errorf("client_dns hook %s: %w", hook.Name, err)
	}
	defer os.RemoveAll(dir)
	result := filepath.Join(dir, "result.json")
	ttl := st.TTLDuring
	if action == "finalize" {
		ttl = 0
		for _, r := range original {
			ttl = max(ttl, r.TTL)
		}
	}
	env := map[string]string{
		"FERRY_APP": spec.Name, "FERRY_HOOK": hook.Name, "FERRY_HOOK_AT": hook.At,
		"FERRY_ATTEMPT":       strconv.Itoa(int(activity.GetInfo(ctx).Attempt)),
		"FERRY_DNS_ACTION":    action,
		"FERRY_DNS_NAME":      c.Name,
		"FERRY_DNS_TTL":       strconv.FormatInt(ttl, 10),
		"FERRY_DNS_ADDRESSES": strings.Join(addrs, " "),
		"FERRY_DNS_RESULT":    result,
	}
	if action == "finalize" && ttl == 0 {
		env["FERRY_DNS_TTL"] = "" // unknown: the hook restores its own record of it
	}
	if len(original) > 0 {
		b, _ := json.Marshal(hookReport{Records: original})
		env["FERRY_DNS_ORIGINAL"] = string(b)
	}
	every := 5 * time.Second // as RunHook: a third of the heartbeat timeout when shorter
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 && hb/3 < every {
		every = max(hb/3, 100*time.Millisecond)
	}
	if a.Hooks.ProgressEvery > 0 {
		every = a.Hooks.ProgressEvery
	}
	opts := hooks.RunOptions{Config: a.Hooks, Env: env, ProgressEvery: every,
		Progress: func(p hooks.Progress) {
			activity.RecordHeartbeat(ctx, HookProgress{Hook: hook.Name, Elapsed: p.Elapsed, OutputBytes: p.OutputBytes, LastLine: p.LastLine})
		}}
	res, err := hooks.Run(ctx, hook, opts)
	if err != nil {
		ev := HookEvidence{Name: hook.Name, At: hook.At, ExitCode: res.ExitCode, Duration: res.Duration, Output: res.Output, Truncated: res.Truncated}
		var he *hooks.Error
		if errors.As(err, &he) && he.Kind == hooks.KindCanceled {
			return st, ctx.Err()
		}
		reason := runbooks.ReasonHookFailed
		if errors.As(err, &he) && he.Kind == hooks.KindTimeout {
			reason = runbooks.ReasonHookTimeout
		}
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s: %s client name %s: %v (runbook: %s)", spec.Name, action, c.Name, err, runbooks.Link(reason)),
			string(reason), nil, ev)
	}
	if action != "prepare" {
		return st, nil
	}
	b, err := os.ReadFile(result)
	var rep hookReport
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err == nil {
		err = traffic.CheckRecords(rep.Records)
		if err == nil && len(rep.Records) == 0 {
			err = errors.New("no records")
		}
	}
	if err != nil {
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf(`app %s: client_dns hook %s did not report the records of %s before the change: write {"records":[{"type":"A","ttl":300,"rrdatas":["10.20.0.15"]}]} to $FERRY_DNS_RESULT on prepare (%v)`,
				spec.Name, hook.Name, c.Name, err), string(runbooks.ReasonHookFailed), nil)
	}
	st.Original = rep.Records
	now := time.Now().UTC()
	st.LoweredAt = now
	var maxTTL int64
	for _, r := range rep.Records {
		maxTTL = max(maxTTL, r.TTL)
	}
	if maxTTL > st.TTLDuring {
		st.WaitUntil = now.Add(time.Duration(maxTTL) * time.Second)
	}
	return st, nil
}
