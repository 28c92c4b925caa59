package test

import (
	"context"
	"fmt"
	"slices"

	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/ssh"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/workflows"
)

// keys finds a person's signing key: the people a test acts as.
type keys func(who string) ssh.Signer

// testKeys signs with internal/testkeys (hand-made specs list those keys).
func testKeys(who string) ssh.Signer { return testkeys.Signer(identity.Normalize(who)) }

// devKeys signs with a dev stack's throwaway keys (<state>/keys/<person>).
func devKeys(stateDir string) keys {
	return func(who string) ssh.Signer {
		s, err := identity.LoadSigner(devstack.KeyFile(stateDir, who))
		if err != nil {
			panic(err)
		}
		return s
	}
}

// as is a ferry client acting as who, signing with k.
func as(c client.Client, who string, k keys) *ferryclient.Client {
	return &ferryclient.Client{Temporal: c, User: who, Signer: k(who)}
}

// quickDigest names the plan every quickSpec belongs to.
const quickDigest = "sha256:00000000000000000000000000000000000000000000000000000000000000ee"

// quickPlans is a plan store holding quickSpec(app) for every app name, so
// in-process workers can run apps named at run time; Edit, when set,
// changes each spec (a benchmark's project, say).
type quickPlans struct{ Edit func(*plan.AppSpec) }

func (q quickPlans) App(_ context.Context, app, digest string) (plan.AppSpec, error) {
	if digest != quickDigest {
		return plan.AppSpec{}, fmt.Errorf("%w: %s", planstore.ErrNotFound, digest)
	}
	s := quickSpec(app)
	if q.Edit != nil {
		q.Edit(&s)
	}
	return s, nil
}

func (quickPlans) Wave(context.Context, string, string) (plan.Wave, []plan.AppSpec, error) {
	return plan.Wave{}, nil, planstore.ErrNotInPlan
}

func (quickPlans) Current(context.Context) (string, error) { return quickDigest, nil }

// startQuick starts quickSpec(app) as carl, the plan's operator.
func startQuick(ctx context.Context, c client.Client, app string) (client.WorkflowRun, error) {
	return as(c, "carl@example.com", testKeys).StartMigration(ctx, quickSpec(app), quickDigest)
}

// rollbackAs sends a signed rollback signal, as the UI would with the
// JSON of 'ferry migrate rollback --print-signal'.
func rollbackAs(ctx context.Context, c client.Client, app, who string, k keys, reason string) (workflows.Action, error) {
	a, err := as(c, who, k).Action(ctx, app, "rollback", reason)
	if err != nil {
		return a, err
	}
	return a, c.SignalWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.SignalRollback, a)
}

// recorded reports whether an approval that was sent is in the workflow's
// record: verified with its key's fingerprint (the record keeps no
// signature) and matching on stage, approver, comment and sequence.
func recorded(recs []workflows.ApprovalRecord, ap workflows.Approval) bool {
	return slices.ContainsFunc(recs, func(r workflows.ApprovalRecord) bool {
		return r.Verified && r.KeyFingerprint != "" && r.Stage == ap.Stage && r.Approver == ap.Approver && r.Comment == ap.Comment && r.Seq == ap.Seq
	})
}
