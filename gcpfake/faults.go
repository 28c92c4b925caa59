package gcpfake

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Fault is one injected misbehaviour. A request matches when its method
// equals Method ("" matches any) and its URL path matches PathRegexp
// ("" matches any). The first matching fault with hits left applies.
type Fault struct {
	Method     string
	PathRegexp string
	// Status, when set, answers the request with this HTTP status and
	// Google's error JSON instead of serving it (e.g. 500, 503, 429).
	Status int
	// RetryAfter sets the Retry-After header (rounded up to seconds) on a
	// Status answer.
	RetryAfter time.Duration
	// Times is how many matching requests the fault hits; 0 means every
	// one until Clear.
	Times int
	// Delay holds the answer back this long (the request is served after).
	Delay time.Duration
	// OpPolls keeps the operation the request starts RUNNING for this many
	// polls; OpDuration keeps it RUNNING at least this long.
	OpPolls    int
	OpDuration time.Duration
	// OpError ends the operation DONE with this error message; the change
	// the request asked for is not applied.
	OpError string
}

// Faults holds the active faults; safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	faults []*activeFault
}

type activeFault struct {
	Fault
	re   *regexp.Regexp
	left int // -1: unlimited
	hits int
}

// Add installs a fault. It fails only on an invalid PathRegexp.
func (f *Faults) Add(fault Fault) error {
	af := &activeFault{Fault: fault, left: -1}
	if fault.Times > 0 {
		af.left = fault.Times
	}
	if fault.PathRegexp != "" {
		re, err := regexp.Compile(fault.PathRegexp)
		if err != nil {
			return fmt.Errorf("gcpfake: fault path regexp %q: %w", fault.PathRegexp, err)
		}
		af.re = re
	}
	f.mu.Lock()
	f.faults = append(f.faults, af)
	f.mu.Unlock()
	return nil
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

// Hits returns how many requests the faults have hit so far, in total.
func (f *Faults) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, af := range f.faults {
		n += af.hits
	}
	return n
}

// match returns the fault for a request, consuming one of its hits.
func (f *Faults) match(r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, af := range f.faults {
		if af.left == 0 {
			continue
		}
		if af.Method != "" && af.Method != r.Method {
			continue
		}
		if af.re != nil && !af.re.MatchString(r.URL.Path) {
			continue
		}
		if af.left > 0 {
			af.left--
		}
		af.hits++
		c := af.Fault
		return &c
	}
	return nil
}

func writeFaultStatus(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	reason := "backendError"
	msg := "Internal error. Please try again or contact Google Support. (gcpfake injected fault)"
	switch {
	case f.Status == 429:
		reason, msg = "rateLimitExceeded", "Rate Limit Exceeded (gcpfake injected fault)"
	case f.Status == 503:
		reason, msg = "backendError", "The service is currently unavailable. (gcpfake injected fault)"
	case f.Status < 500:
		reason, msg = "invalid", "gcpfake injected fault"
	}
	writeError(w, &apiError{Code: f.Status, Reason: reason, Message: msg})
}

// grpcFault applies the injected fault matching a gRPC method (a Fault's
// PathRegexp matches the full method, e.g.
// "/google.monitoring.v3.MetricService/ListTimeSeries") as Google's gRPC
// APIs answer: its delay, then 429 → RESOURCE_EXHAUSTED with the API's
// quota message, 403 → PERMISSION_DENIED with denied when the API says so
// (else INVALID_ARGUMENT like any other 4xx), 503 → UNAVAILABLE, other
// 5xx → INTERNAL. nil: no fault, serve the call.
func (s *Server) grpcFault(ctx context.Context, method, quota, denied string) error {
	f := s.faults.match(&http.Request{Method: "POST", URL: &url.URL{Path: method}})
	if f == nil {
		return nil
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	switch {
	case f.Status == 403 && denied != "":
		return status.Error(codes.PermissionDenied, denied+" (gcpfake injected fault)")
	case f.Status == 429:
		return status.Error(codes.ResourceExhausted, quota+" (gcpfake injected fault)")
	case f.Status == 503:
		return status.Error(codes.Unavailable, "The service is currently unavailable. (gcpfake injected fault)")
	case f.Status >= 500:
		return status.Error(codes.Internal, "Internal error. (gcpfake injected fault)")
	case f.Status >= 400:
		return status.Error(codes.InvalidArgument, "gcpfake injected fault")
	}
	return nil
}
