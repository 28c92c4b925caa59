package hooks

import (
	"bytes"
	"fmt"
	"sync"
)

// capture keeps the first and the last half of a command's output and
// counts what it drops, so a runaway hook cannot fill the worker's memory
// or a workflow history.
type capture struct {
	mu    sync.Mutex
	limit int
	head  []byte
	tail  []byte // ring buffer once full
	pos   int    // next write position in tail when full
	full  bool
	total int64
}

func newCapture(limit int) *capture {
	if limit <= 0 {
		limit = DefaultMaxOutputBytes
	}
	if limit < 64 {
		limit = 64
	}
	return &capture{limit: limit}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	headMax := c.limit / 2
	if len(c.head) < headMax {
		k := min(headMax-len(c.head), len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	tailMax := c.limit - headMax
	for len(p) > 0 {
		if !c.full {
			k := min(tailMax-len(c.tail), len(p))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			if len(c.tail) == tailMax {
				c.full = true
				c.pos = 0
			}
			continue
		}
		if len(p) >= tailMax {
			copy(c.tail, p[len(p)-tailMax:])
			c.pos = 0
			p = nil
			continue
		}
		k := copy(c.tail[c.pos:], p)
		c.pos = (c.pos + k) % tailMax
		p = p[k:]
	}
	return n, nil
}

func (c *capture) bytesTotal() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// lastLine returns the last non-empty line written so far (for progress).
func (c *capture) lastLine() string {
	c.mu.Lock()
	t := c.tailBytes()
	if len(t) == 0 {
		t = c.head
	}
	t = bytes.TrimRight(t, "\r\n")
	c.mu.Unlock()
	if i := bytes.LastIndexByte(t, '\n'); i >= 0 {
		t = t[i+1:]
	}
	if len(t) > 200 {
		t = t[len(t)-200:]
	}
	return string(t)
}

func (c *capture) tailBytes() []byte {
	if !c.full {
		return append([]byte(nil), c.tail...)
	}
	out := make([]byte, 0, len(c.tail))
	out = append(out, c.tail[c.pos:]...)
	return append(out, c.tail[:c.pos]...)
}

// result returns the kept output and whether some was dropped. When output
// was dropped, the cut points move to line boundaries so no secret is kept
// half (a half secret is not recognised by redaction).
func (c *capture) result() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := c.tailBytes()
	kept := int64(len(c.head) + len(tail))
	if kept == c.total {
		return string(c.head) + string(tail), false
	}
	head := c.head
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	if i := bytes.IndexByte(tail, '\n'); i >= 0 && i < len(tail)-1 {
		tail = tail[i+1:]
	}
	omitted := c.total - int64(len(head)+len(tail))
	marker := fmt.Sprintf("\n... [ferry: %d bytes of output omitted] ...\n", omitted)
	return string(head) + marker + string(tail), true
}
