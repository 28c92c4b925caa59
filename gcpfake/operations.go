package gcpfake

import (
	"fmt"
	"time"
)

// operation is a compute long-running operation. Changes are applied when
// the operation is created; the operation only reports them as RUNNING
// until its polls or its duration are used up, as a slow real one would.
type operation struct {
	Body      map[string]any `json:"body"`
	PollsLeft int            `json:"pollsLeft"`
	DoneAfter time.Time      `json:"doneAfter"`
	Error     string         `json:"error,omitempty"`
}

// opScope is where an operation lives: "global", "zones/Z" or "regions/R".
type opScope struct {
	Project string
	Zone    string
	Region  string
}

func (sc opScope) path() string {
	switch {
	case sc.Zone != "":
		return fmt.Sprintf("projects/%s/zones/%s", sc.Project, sc.Zone)
	case sc.Region != "":
		return fmt.Sprintf("projects/%s/regions/%s", sc.Project, sc.Region)
	}
	return fmt.Sprintf("projects/%s/global", sc.Project)
}

// newOp records an operation; called with s.mu held.
func (s *Server) newOp(sc opScope, opType, targetLink string, targetID any, f *Fault) map[string]any {
	id := s.nextID()
	name := fmt.Sprintf("operation-%d-%s", time.Now().UnixMilli(), idString(id)[12:])
	key := sc.path() + "/operations/" + name
	ts := now()
	body := map[string]any{
		"kind":          "compute#operation",
		"id":            idString(id),
		"name":          name,
		"operationType": opType,
		"targetLink":    targetLink,
		"status":        "DONE",
		"progress":      100,
		"insertTime":    ts,
		"startTime":     ts,
		"user":          "gcpfake@example.com",
		"selfLink":      computeBase + key,
	}
	if targetID != nil {
		body["targetId"] = targetID
	}
	switch {
	case sc.Zone != "":
		body["zone"] = fmt.Sprintf("%sprojects/%s/zones/%s", computeBase, sc.Project, sc.Zone)
	case sc.Region != "":
		body["region"] = fmt.Sprintf("%sprojects/%s/regions/%s", computeBase, sc.Project, sc.Region)
	}
	op := &operation{Body: body, PollsLeft: s.opts.OperationPolls}
	if f != nil {
		if f.OpPolls > 0 {
			op.PollsLeft = f.OpPolls
		}
		if f.OpDuration > 0 {
			op.DoneAfter = time.Now().Add(f.OpDuration)
		}
		op.Error = f.OpError
	}
	s.state.Ops[key] = op
	s.pruneOps()
	return s.opView(op)
}

// opView renders an operation's current state; called with s.mu held.
func (s *Server) opView(op *operation) map[string]any {
	b := copyMap(op.Body)
	if op.PollsLeft > 0 || time.Now().Before(op.DoneAfter) {
		b["status"] = "RUNNING"
		b["progress"] = 0
		return b
	}
	b["endTime"] = b["startTime"]
	if op.Error != "" {
		b["httpErrorStatusCode"] = 400
		b["httpErrorMessage"] = "BAD REQUEST"
		b["error"] = map[string]any{"errors": []any{map[string]any{
			"code": "OPERATION_FAILED", "message": op.Error,
		}}}
	}
	return b
}

// pollOp answers a GET (or wait) of an operation, advancing it one poll.
func (s *Server) pollOp(key string, wait bool) (map[string]any, *apiError) {
	op := s.state.Ops[key]
	if op == nil {
		return nil, errNotFound(key)
	}
	if op.PollsLeft > 0 {
		op.PollsLeft--
		if wait {
			op.PollsLeft = 0
		}
	}
	return s.opView(op), nil
}

// maxOps bounds the operations a long-running fake (ferry dev) keeps;
// beyond it, finished ones are forgotten, as GCE forgets old operations.
const maxOps = 5000

func (s *Server) pruneOps() {
	if len(s.state.Ops) <= maxOps {
		return
	}
	t := time.Now()
	for k, op := range s.state.Ops {
		if op.PollsLeft == 0 && !t.Before(op.DoneAfter) {
			delete(s.state.Ops, k)
		}
	}
}
