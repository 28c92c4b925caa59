package redact

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// NewWorkerInterceptor returns the worker interceptor that redacts what
// activities hand back before it enters workflow history: the returned
// error (message, details and cause chain), the strings of the result, and
// heartbeat details. It uses the process-wide registry; install it with
// worker.Options{Interceptors: []interceptor.WorkerInterceptor{redact.NewWorkerInterceptor()}}.
func NewWorkerInterceptor() interceptor.WorkerInterceptor { return Default().WorkerInterceptor() }

// WorkerInterceptor is NewWorkerInterceptor for this registry.
func (r *Registry) WorkerInterceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{reg: r}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	reg *Registry
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &activityInbound{reg: w.reg}
	a.Next = next
	return a
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	reg *Registry
}

func (a *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	o := &activityOutbound{reg: a.reg}
	o.Next = outbound
	return a.Next.Init(o)
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (result any, err error) {
	// The SDK turns a panic into a failure whose message is the panic
	// value: redact that too (the stack trace keeps the original frames).
	defer func() {
		if p := recover(); p != nil {
			s := fmt.Sprint(p)
			if red := a.reg.String(s); red != s {
				panic(red)
			}
			panic(p)
		}
	}()
	result, err = a.Next.ExecuteActivity(ctx, in)
	if err != nil {
		return result, a.reg.ActivityError(err)
	}
	return a.reg.Value(result), nil
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	reg *Registry
}

// RecordHeartbeat redacts heartbeat details: the last ones are stored with
// the activity and shown in timeout failures.
func (o *activityOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	red := make([]any, len(details))
	for i, d := range details {
		red[i] = o.reg.Value(d)
	}
	o.Next.RecordHeartbeat(ctx, red...)
}

// ActivityError returns err as the activity should report it: unchanged
// when nothing in it is secret, otherwise rebuilt level by level as the
// SDK's failure converter would serialise it (an ApplicationError per
// level of the Unwrap chain, with the same Type, NonRetryable flag,
// NextRetryDelay and Category), messages and string details redacted.
// Cancellation (context.Canceled, temporal CanceledError) and
// activity.ErrResultPending pass through, so the SDK still recognises them.
func (r *Registry) ActivityError(err error) error {
	if err == nil || errors.Is(err, activity.ErrResultPending) {
		return err
	}
	if !r.errorHasSecret(err, 0) {
		return err
	}
	return r.rebuild(err, 0)
}

// ActivityError redacts an activity's error with the process-wide registry.
func ActivityError(err error) error { return Default().ActivityError(err) }

// maxChain bounds how deep an error chain is walked.
const maxChain = 64

// keep reports errors the SDK matches by identity or type, which carry no
// message of their own worth redacting.
func keep(err error) bool {
	_, canceled := err.(*temporal.CanceledError)
	return err == context.Canceled || err == context.DeadlineExceeded || canceled
}

func (r *Registry) errorHasSecret(err error, depth int) bool {
	if err == nil || depth > maxChain || keep(err) {
		return false
	}
	var msg string
	if ae, ok := err.(*temporal.ApplicationError); ok {
		msg = ae.Message()
		details, ok := appDetails(ae)
		if !ok {
			return true // unreadable details: rebuild drops them
		}
		if _, changed := r.walk(reflect.ValueOf(details), 0); changed {
			return true
		}
	} else {
		msg = err.Error()
	}
	if r.String(msg) != msg {
		return true
	}
	return r.errorHasSecret(errors.Unwrap(err), depth+1)
}

func (r *Registry) rebuild(err error, depth int) error {
	if err == nil || keep(err) {
		return err
	}
	if depth > maxChain {
		return errors.New(r.String(err.Error()))
	}
	cause := r.rebuild(errors.Unwrap(err), depth+1)
	if ae, ok := err.(*temporal.ApplicationError); ok {
		opts := temporal.ApplicationErrorOptions{
			NonRetryable:   ae.NonRetryable(),
			Cause:          cause,
			NextRetryDelay: ae.NextRetryDelay(),
			Category:       ae.Category(),
		}
		if details, ok := appDetails(ae); ok {
			for _, d := range details {
				opts.Details = append(opts.Details, r.Value(d))
			}
		} else if ae.HasDetails() {
			// Details that cannot be read back (an encoding the default
			// converter does not know) are dropped rather than risked.
			opts.Details = []any{"details removed by ferry's redaction: they could not be inspected"}
		}
		return temporal.NewApplicationErrorWithOptions(r.String(ae.Message()), ae.Type(), opts)
	}
	// Any other error becomes what the failure converter would make of
	// it: an ApplicationError typed with the Go type's name, retryable,
	// whose message is the full Error() text.
	return temporal.NewApplicationErrorWithOptions(r.String(err.Error()), goErrType(err), temporal.ApplicationErrorOptions{Cause: cause})
}

// goErrType mirrors the SDK's naming of plain Go errors in failures.
func goErrType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "errorString" {
		return ""
	}
	return t.Name()
}

// appDetails reads an ApplicationError's details as plain values. The SDK
// does not say how many there are: ask for one more until it refuses.
func appDetails(ae *temporal.ApplicationError) (details []any, ok bool) {
	if !ae.HasDetails() {
		return nil, true
	}
	defer func() {
		if recover() != nil {
			details, ok = nil, false
		}
	}()
	const most = 16
	for n := 1; n <= most; n++ {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := ae.Details(ptrs...); err != nil {
			if n == 1 {
				return nil, false
			}
			return details, true
		}
		details = vals
	}
	// Details decoded from payloads fill extra pointers with nothing
	// instead of refusing: drop the empty tail.
	for len(details) > 0 && details[len(details)-1] == nil {
		details = details[:len(details)-1]
	}
	return details, true
}

// reasonCode is what Reason lets through: a short code, never text.
var reasonCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Reason returns a short code for err, safe for search attributes (which
// are not encrypted): the Type of the first ApplicationError in its chain
// that names a code ("hook-failed", "vcenter-no-permission"), "canceled",
// "timeout", or "unknown". It never returns message text.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) || errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timeout"
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		var ae *temporal.ApplicationError
		if !errors.As(e, &ae) {
			break
		}
		if t := ae.Type(); reasonCode.MatchString(t) && !goTypeName(t) {
			return t
		}
		e = ae
	}
	return "unknown"
}

// goTypeName reports the types the SDK gives plain Go errors (wrapError,
// errorString, PathError): they say nothing a runbook could use.
func goTypeName(t string) bool {
	switch t {
	case "wrapError", "wrapErrors", "joinError", "errorString", "PanicError":
		return true
	}
	return false
}
