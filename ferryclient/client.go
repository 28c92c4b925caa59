// Package ferryclient is the client side of ferry's workflows, as cli/cli's
// commands call its api package: start a migration or a wave from a
// reviewed plan digest, read their status, and send approvals and actions
// signed with the person's SSH key. The CLI and the dev stack use it; it
// holds no flags and prints nothing.
package ferryclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/ssh"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// ErrAlreadyRunning is returned (wrapped) when a migration or wave with the
// same workflow ID is running.
var ErrAlreadyRunning = errors.New("already running")

// ErrNotFound is returned (wrapped) when no such migration or wave runs.
var ErrNotFound = errors.New("not found")

// Client acts as one person: User, signing with Signer (nil: unsigned,
// which only plans with allow_unverified accept).
type Client struct {
	Temporal client.Client
	User     string
	Signer   ssh.Signer
	// Now is the clock statements are dated with (tests).
	Now func() time.Time
	// TaskQueue to start on (default workflows.TaskQueue).
	TaskQueue string
}

func (c *Client) queue() string {
	if c.TaskQueue != "" {
		return c.TaskQueue
	}
	return workflows.TaskQueue
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sign(s identity.Statement) (string, error) {
	if c.Signer == nil {
		return "", nil
	}
	return identity.Sign(s, c.Signer)
}

// StartMigration starts ferry-app-<app> from the reviewed plan digest; spec
// (from the same plan) gives the summary and search attributes only.
func (c *Client) StartMigration(ctx context.Context, spec plan.AppSpec, digest string) (client.WorkflowRun, error) {
	id := workflows.AppWorkflowID(spec.Name)
	in := workflows.MigrateAppInput{App: spec.Name, PlanDigest: digest, StartedBy: identity.Normalize(c.User), IssuedAt: c.now().UTC().Truncate(time.Second)}
	var err error
	if in.Signature, err = c.sign(identity.Statement{WorkflowID: id, Kind: "start", Stage: spec.Name, By: in.StartedBy, Text: digest, IssuedAt: in.IssuedAt}); err != nil {
		return nil, err
	}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.queue(),
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Migrate %s (%s) to GCP — wave %s, owner %s", spec.Name, spec.Tier, spec.Wave, spec.Owner),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAApp.ValueSet(spec.Name), workflows.SAWave.ValueSet(spec.Wave),
			workflows.SAOwner.ValueSet(spec.Owner), workflows.SATier.ValueSet(spec.Tier),
			workflows.SAStage.ValueSet(workflows.StageDiscover)),
	}
	run, err := c.Temporal.ExecuteWorkflow(ctx, opts, workflows.MigrateAppWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("a migration of %s is %w (workflow %s): follow it with 'ferry migrate status %s', or roll it back first", spec.Name, ErrAlreadyRunning, id, spec.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("start migration of %s: %w", spec.Name, err)
	}
	return run, nil
}

// StartWave starts ferry-wave-<wave> from the reviewed plan digest.
func (c *Client) StartWave(ctx context.Context, w plan.Wave, digest string) (client.WorkflowRun, error) {
	id := workflows.WaveWorkflowID(w.Name)
	in := workflows.WaveInput{Wave: w.Name, PlanDigest: digest, StartedBy: identity.Normalize(c.User), IssuedAt: c.now().UTC().Truncate(time.Second)}
	var err error
	if in.Signature, err = c.sign(identity.Statement{WorkflowID: id, Kind: "start-wave", Stage: w.Name, By: in.StartedBy, Text: digest, IssuedAt: in.IssuedAt}); err != nil {
		return nil, err
	}
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.queue(),
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Wave %s: %d apps, concurrency %d", w.Name, len(w.Apps), w.Concurrency),
	}, workflows.WaveWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("wave %s is %w (workflow %s): follow it with 'ferry wave status %s'", w.Name, ErrAlreadyRunning, id, w.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("start wave %s: %w", w.Name, err)
	}
	return run, nil
}

// Status queries an app's migration.
func (c *Client) Status(ctx context.Context, app string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, fmt.Errorf("migration of %s %w: start one with 'ferry migrate start %s'", app, ErrNotFound, app)
		}
		return st, fmt.Errorf("status of %s: %w", app, err)
	}
	return st, v.Get(&st)
}

// WaveStatus queries a wave.
func (c *Client) WaveStatus(ctx context.Context, wave string) (workflows.WaveStatus, error) {
	var ws workflows.WaveStatus
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.WaveWorkflowID(wave), "", workflows.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return ws, fmt.Errorf("wave %s %w: start it with 'ferry wave start %s'", wave, ErrNotFound, wave)
		}
		return ws, fmt.Errorf("status of wave %s: %w", wave, err)
	}
	return ws, v.Get(&ws)
}

// Approval builds the signed payload of an approve or reject for the gate
// open now (decision "approve" or "reject").
func (c *Client) Approval(ctx context.Context, app, decision, stage, comment string) (workflows.Approval, error) {
	st, err := c.Status(ctx, app)
	if err != nil {
		return workflows.Approval{}, err
	}
	w := st.Waiting
	if w == nil || w.Gate != stage || len(w.Approvers) == 0 {
		open := "no gate is open"
		if w != nil {
			open = "it waits for " + w.Gate
		}
		return workflows.Approval{}, fmt.Errorf("%s of %s: the %s gate is not open (%s, stage %s)", decision, app, stage, open, st.Stage)
	}
	a := workflows.Approval{Stage: stage, Approver: identity.Normalize(c.User), Comment: comment, Seq: w.Seq, IssuedAt: c.now().UTC().Truncate(time.Second)}
	a.Signature, err = c.sign(identity.Statement{WorkflowID: workflows.AppWorkflowID(app), RunID: st.RunID, Kind: decision, Stage: stage,
		Seq: w.Seq, By: a.Approver, Text: comment, IssuedAt: a.IssuedAt})
	return a, err
}

// Action builds the signed payload of retry, skip or rollback.
func (c *Client) Action(ctx context.Context, app, kind, reason string) (workflows.Action, error) {
	st, err := c.Status(ctx, app)
	if err != nil {
		return workflows.Action{}, err
	}
	seq := 0
	if kind != "rollback" {
		if st.Waiting == nil || st.Waiting.Gate != "retry" {
			return workflows.Action{}, fmt.Errorf("%s of %s: it is not blocked (stage %s)", kind, app, st.Stage)
		}
		seq = st.Waiting.Seq
	}
	a := workflows.Action{By: identity.Normalize(c.User), Reason: reason, Seq: seq, IssuedAt: c.now().UTC().Truncate(time.Second)}
	a.Signature, err = c.sign(identity.Statement{WorkflowID: workflows.AppWorkflowID(app), RunID: st.RunID, Kind: kind,
		Seq: seq, By: a.By, Text: reason, IssuedAt: a.IssuedAt})
	return a, err
}

// Decide sends an approval or rejection as an Update and returns the record.
func (c *Client) Decide(ctx context.Context, app, decision string, a workflows.Approval) (workflows.ApprovalRecord, error) {
	name := map[string]string{"approve": workflows.UpdateApprove, "reject": workflows.UpdateReject}[decision]
	var rec workflows.ApprovalRecord
	return rec, c.update(ctx, app, name, a, &rec)
}

// Act sends retry, skip or rollback as an Update.
func (c *Client) Act(ctx context.Context, app, kind string, a workflows.Action) (string, error) {
	name := map[string]string{"retry": workflows.UpdateRetry, "skip": workflows.UpdateSkip, "rollback": workflows.UpdateRollback}[kind]
	var msg string
	return msg, c.update(ctx, app, name, a, &msg)
}

// update sends a Temporal Update and waits for its answer, so the caller
// hears at once whether the workflow accepted it.
func (c *Client) update(ctx context.Context, app, name string, arg, out any) error {
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.AppWorkflowID(app), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("running migration of %s %w (it may have ended: 'ferry migrate status %s')", app, ErrNotFound, app)
		}
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) {
			return errors.New(ae.Message()) // the workflow says what was refused and why
		}
		return fmt.Errorf("%s %s: %w", strings.TrimSuffix(name, "-update"), app, err)
	}
	return nil
}
