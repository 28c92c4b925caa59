package terraform

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"sync"
)

// Diagnostic is one of terraform's structured diagnostics (-json output).
type Diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Address  string `json:"address,omitempty"`
}

func (d Diagnostic) String() string {
	s := d.Summary
	if d.Address != "" {
		s = d.Address + ": " + s
	}
	if d.Detail != "" {
		s += ": " + strings.Join(strings.Fields(d.Detail), " ")
	}
	return s
}

// Progress is one step of an apply or destroy, for heartbeats.
type Progress struct {
	Resource string  `json:"resource,omitempty"`
	Action   string  `json:"action,omitempty"` // create, update, delete, ...
	Phase    string  `json:"phase"`            // start, progress, complete, errored, summary
	Elapsed  float64 `json:"elapsed,omitempty"`
	Done     int     `json:"done"` // resources completed so far
	Message  string  `json:"message"`
}

// jsonStream reads terraform's machine-readable UI (one JSON object a
// line), keeps the diagnostics and reports progress.
type jsonStream struct {
	mu       sync.Mutex
	diags    []Diagnostic
	done     int
	deleted  int
	progress func(Progress)
	pw       *io.PipeWriter
	finished chan struct{}
}

type uiLine struct {
	Message    string `json:"@message"`
	Type       string `json:"type"`
	Diagnostic *struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Address  string `json:"address"`
	} `json:"diagnostic"`
	Hook *struct {
		Resource struct {
			Addr string `json:"addr"`
		} `json:"resource"`
		Action  string  `json:"action"`
		Elapsed float64 `json:"elapsed_seconds"`
	} `json:"hook"`
}

func newJSONStream(progress func(Progress)) *jsonStream {
	pr, pw := io.Pipe()
	s := &jsonStream{progress: progress, pw: pw, finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			s.line(sc.Bytes())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return s
}

func (s *jsonStream) Write(p []byte) (int, error) { return s.pw.Write(p) }

// close waits until every line written so far is read.
func (s *jsonStream) close() {
	_ = s.pw.Close()
	<-s.finished
}

func (s *jsonStream) line(b []byte) {
	var l uiLine
	if json.Unmarshal(b, &l) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Type == "diagnostic" && l.Diagnostic != nil {
		s.diags = append(s.diags, Diagnostic{Severity: l.Diagnostic.Severity, Summary: l.Diagnostic.Summary,
			Detail: l.Diagnostic.Detail, Address: l.Diagnostic.Address})
		return
	}
	if l.Hook == nil && l.Type != "change_summary" {
		return
	}
	p := Progress{Message: l.Message}
	if l.Hook != nil {
		p.Resource, p.Action, p.Elapsed = l.Hook.Resource.Addr, l.Hook.Action, l.Hook.Elapsed
	}
	switch l.Type {
	case "apply_start":
		p.Phase = "start"
	case "apply_progress":
		p.Phase = "progress"
	case "apply_complete":
		p.Phase = "complete"
		s.done++
		if p.Action == "delete" {
			s.deleted++
		}
	case "apply_errored":
		p.Phase = "errored"
	case "change_summary":
		p.Phase = "summary"
	default:
		return
	}
	p.Done = s.done
	if s.progress != nil {
		s.progress(p)
	}
}

func (s *jsonStream) errors() []Diagnostic {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Diagnostic
	for _, d := range s.diags {
		if d.Severity == "error" {
			out = append(out, d)
		}
	}
	return out
}

var lockField = regexp.MustCompile(`(?m)^\s*(ID|Who|Operation|Created):\s*(.*?)\s*$`)

// lockError reads the lock holder from the "Error acquiring the state
// lock" diagnostic, whose detail is terraform's structured lock info.
func lockError(app string, diags []Diagnostic) *LockedError {
	for _, d := range diags {
		// "Error acquiring the state lock", or a gcs backend's first state
		// write refused (412) while someone holds the lock: both carry
		// terraform's lock info in the diagnostic detail.
		text := d.Summary + "\n" + d.Detail
		if !strings.Contains(d.Summary, "state lock") && !strings.Contains(text, "Lock Info:") {
			continue
		}
		e := &LockedError{App: app}
		for _, m := range lockField.FindAllStringSubmatch(text, -1) {
			switch m[1] {
			case "ID":
				e.ID = m[2]
			case "Who":
				e.Who = m[2]
			case "Operation":
				e.Operation = m[2]
			case "Created":
				e.Created = m[2]
			}
		}
		return e
	}
	return nil
}
