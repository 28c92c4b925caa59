package terraform

import (
	"sync"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/ferrymigrate/ferry/terraform/hcltokens"
)

// arena is an hcltokens.Arena (literal tokens that equal hclwrite's) plus
// the scratch space of the file writer (tw) and the formatter. Render
// returns its arena to a pool once the bytes are written, so chunks and
// scratch are reused.
type arena struct {
	hcltokens.Arena
	ptrs  hclwrite.Tokens // tokens of the files being written (tw)
	slab  []byte          // token bytes (tw)
	lines []fmtLine       // formatter scratch
}

var arenas = sync.Pool{New: func() any { return &arena{} }}

// reset makes every chunk and the scratch reusable; nothing may hold its
// tokens.
func (a *arena) reset() {
	a.Reset()
	clear(a.ptrs)
	a.ptrs = a.ptrs[:0]
	a.slab = a.slab[:0]
}
