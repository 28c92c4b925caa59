// Package identity carries the caller's Temporal client identity from the
// ferry CLI to workflow code, so an approval whose payload names someone
// else than the sender is refused. Temporal records the sender identity of
// signals and updates in history, but workflow code cannot read it; the
// client interceptor copies it into the request header and the worker's
// inbound interceptor hands it to the workflow.
//
// Requests without the header (the Temporal UI, other clients) carry no
// known identity: workflows then rely on their own checks (the plan's
// approver list). The identity is what the client says it is; Temporal's
// own authorization (mTLS, an authorizer plugin) is what makes it true.
package identity

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// HeaderKey is the Temporal header field that holds the caller identity.
const HeaderKey = "ferry-identity"

// maxLen bounds an identity read from a header; longer values are ignored.
const maxLen = 256

// NewClientInterceptor returns a client interceptor that puts id into the
// header of every signal and update the client sends.
func NewClientInterceptor(id string) interceptor.ClientInterceptor {
	return &clientInterceptor{id: id}
}

type clientInterceptor struct {
	interceptor.ClientInterceptorBase
	id string
}

func (c *clientInterceptor) InterceptClient(next interceptor.ClientOutboundInterceptor) interceptor.ClientOutboundInterceptor {
	o := &clientOutbound{id: c.id}
	o.Next = next
	return o
}

type clientOutbound struct {
	interceptor.ClientOutboundInterceptorBase
	id string
}

func (o *clientOutbound) stamp(ctx context.Context) error {
	if o.id == "" {
		return nil
	}
	h := interceptor.Header(ctx)
	if h == nil {
		return nil
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(o.id)
	if err != nil {
		return err
	}
	h[HeaderKey] = p
	return nil
}

func (o *clientOutbound) SignalWorkflow(ctx context.Context, in *interceptor.ClientSignalWorkflowInput) error {
	if err := o.stamp(ctx); err != nil {
		return err
	}
	return o.Next.SignalWorkflow(ctx, in)
}

func (o *clientOutbound) SignalWithStartWorkflow(ctx context.Context, in *interceptor.ClientSignalWithStartWorkflowInput) (client.WorkflowRun, error) {
	if err := o.stamp(ctx); err != nil {
		return nil, err
	}
	return o.Next.SignalWithStartWorkflow(ctx, in)
}

func (o *clientOutbound) UpdateWorkflow(ctx context.Context, in *interceptor.ClientUpdateWorkflowInput) (client.WorkflowUpdateHandle, error) {
	if err := o.stamp(ctx); err != nil {
		return nil, err
	}
	return o.Next.UpdateWorkflow(ctx, in)
}

// FromHeader reads the caller identity from a Temporal header ("" when
// absent or unreadable).
func FromHeader(h map[string]*commonpb.Payload) string {
	p := h[HeaderKey]
	if p == nil {
		return ""
	}
	var id string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &id); err != nil || len(id) > maxLen {
		return ""
	}
	return id
}

// NewWorkerInterceptor returns the worker interceptor that makes caller
// identities available to workflow code through Caller and SignalCaller.
func NewWorkerInterceptor() interceptor.WorkerInterceptor { return &workerInterceptor{} }

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*workerInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &inbound{callers: &signalCallers{queues: map[string][]string{}}}
	i.Next = next
	return i
}

// signalCallers holds, per signal name, the identities of signals delivered
// but not yet received by workflow code, in delivery order. The SDK puts a
// signal on its channel in the same order as it calls HandleSignal, on
// replay too, so the n-th receive on a channel matches the n-th identity.
type signalCallers struct {
	queues map[string][]string
}

type inbound struct {
	interceptor.WorkflowInboundInterceptorBase
	callers *signalCallers
}

type ctxKey struct{ name string }

var (
	callersKey = ctxKey{"signal-callers"}
	callerKey  = ctxKey{"update-caller"}
)

func (i *inbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return i.Next.ExecuteWorkflow(workflow.WithValue(ctx, callersKey, i.callers), in)
}

func (i *inbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	id := FromHeader(interceptor.WorkflowHeader(ctx))
	// The receiving coroutine runs only after this returns, so recording
	// after a successful hand-over keeps the queue aligned with the channel.
	if err := i.Next.HandleSignal(ctx, in); err != nil {
		return err
	}
	i.callers.queues[in.SignalName] = append(i.callers.queues[in.SignalName], id)
	return nil
}

func (i *inbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	return i.Next.ValidateUpdate(withCaller(ctx), in)
}

func (i *inbound) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	return i.Next.ExecuteUpdate(withCaller(ctx), in)
}

func withCaller(ctx workflow.Context) workflow.Context {
	return workflow.WithValue(ctx, callerKey, FromHeader(interceptor.WorkflowHeader(ctx)))
}

// Caller returns the identity of the client that sent the update being
// handled, "" when unknown.
func Caller(ctx workflow.Context) string {
	id, _ := ctx.Value(callerKey).(string)
	return id
}

// SignalCaller returns the identity of the client that sent the signal
// just received on the channel named signal ("" when unknown). Call it
// once after each Receive on that channel, in the same coroutine.
func SignalCaller(ctx workflow.Context, signal string) string {
	c, _ := ctx.Value(callersKey).(*signalCallers)
	if c == nil {
		return ""
	}
	q := c.queues[signal]
	if len(q) == 0 {
		return ""
	}
	id := q[0]
	if len(q) == 1 {
		delete(c.queues, signal)
	} else {
		c.queues[signal] = q[1:]
	}
	return id
}
