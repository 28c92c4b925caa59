package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/notify"
	"github.com/ferrymigrate/ferry/runbooks"
)

// ErrTypeNotifyRejected is the error type of a notification the webhook
// refused (HTTP 4xx other than 429): retrying cannot help.
const ErrTypeNotifyRejected = "notify-rejected"

// newSink builds the sink; tests replace it.
var newSink = func(cfg notify.Config) notify.Sink { return notify.NewWebhook(cfg) }

// SendNotification posts one notification (registered as NotifyName; the
// method cannot be called Notify because the field Notify holds its
// config). With no webhook configured it logs and succeeds. Transient
// delivery failures (after the sink's own retries) are retryable; a
// refused message is not. Workflows should treat a failed notification as
// a warning, never as a reason to park.
func (a *Activities) SendNotification(ctx context.Context, in NotifyInput) error {
	log := activity.GetLogger(ctx)
	if a.Notify.WebhookURL == "" {
		log.Info("notification not sent: no webhook configured (set "+notify.EnvWebhookURL+" on the worker)",
			"event", in.Event, "app", in.App, "stage", in.Stage, "needed", in.Needed)
		return nil
	}
	m := notify.Message{
		Event: in.Event, App: in.App, Owner: in.Owner, Stage: in.Stage, Needed: in.Needed,
		WorkflowID: in.WorkflowID, Reason: runbooks.Reason(in.Runbook), AppRunbook: in.AppRunbook, Detail: in.Detail,
	}
	if m.WorkflowID == "" {
		m.WorkflowID = activity.GetInfo(ctx).WorkflowExecution.ID
	}
	err := newSink(a.Notify).Send(ctx, m)
	if err == nil {
		log.Info("notification sent", "event", in.Event, "app", in.App)
		return nil
	}
	var de *notify.DeliveryError
	if errors.As(err, &de) && !de.Retryable {
		return temporal.NewNonRetryableApplicationError(de.Error(), ErrTypeNotifyRejected, nil)
	}
	return err
}
