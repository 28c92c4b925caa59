package terraform

import (
	"strconv"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"golang.org/x/text/unicode/norm"

	"github.com/ferrymigrate/ferry/terraform/hcltokens"
)

// tw writes one generated file as hclwrite tokens: each top-level block is
// built in the arena's shared token slice and appended to the file's body
// as one node when it ends. Blocks, attributes and literals come out as the
// same tokens AppendNewBlock, SetAttributeRaw and TokensForValue produce
// (the golden and format tests hold the bytes equal), without the node tree
// and per-value allocations those build.
type tw struct {
	a     *arena
	body  *hclwrite.Body
	mark  int // start in a.ptrs of the tokens not yet appended to body
	depth int
}

func (a *arena) writer(f *hclwrite.File) *tw {
	return &tw{a: a, body: f.Body(), mark: len(a.ptrs)}
}

func (w *tw) t(typ hclsyntax.TokenType, b []byte) {
	w.a.ptrs = append(w.a.ptrs, w.a.Tok(typ, b))
}

// p writes a punctuation token (hcltokens.Arena.Punct).
func (w *tw) p(typ hclsyntax.TokenType) {
	w.a.ptrs = append(w.a.ptrs, w.a.Punct(typ))
}

func (w *tw) ident(s string) { w.t(hclsyntax.TokenIdent, w.a.bytes(s)) }

// quoted writes a string literal as hclwrite.TokensForValue(cty.StringVal(s)).
func (w *tw) quoted(s string) {
	w.p(hclsyntax.TokenOQuote)
	if !hcltokens.IsASCII(s) {
		s = norm.NFC.String(s)
	}
	if s != "" {
		if hcltokens.Plain(s) {
			w.t(hclsyntax.TokenQuotedLit, w.a.bytes(s))
		} else {
			w.t(hclsyntax.TokenQuotedLit, hcltokens.Escape(s))
		}
	}
	w.p(hclsyntax.TokenCQuote)
}

// block opens `typ "label"... {`; end closes it.
func (w *tw) block(typ string, labels ...string) {
	w.ident(typ)
	for _, l := range labels {
		w.quoted(l)
	}
	w.p(hclsyntax.TokenOBrace)
	w.p(hclsyntax.TokenNewline)
	w.depth++
}

func (w *tw) end() {
	w.p(hclsyntax.TokenCBrace)
	w.p(hclsyntax.TokenNewline)
	w.depth--
	if w.depth == 0 {
		w.flush()
	}
}

// flush appends the finished top-level block (and any blank lines before
// it) to the body as one node.
func (w *tw) flush() {
	if n := len(w.a.ptrs); n > w.mark {
		w.body.AppendUnstructuredTokens(w.a.ptrs[w.mark:n:n])
		w.mark = n
	}
}

// nl writes an empty line.
func (w *tw) nl() { w.p(hclsyntax.TokenNewline) }

func (w *tw) key(name string) {
	w.ident(name)
	w.p(hclsyntax.TokenEqual)
}

func (w *tw) str(name, s string) {
	w.key(name)
	w.quoted(s)
	w.nl()
}

func (w *tw) num(n int64) {
	w.t(hclsyntax.TokenNumberLit, w.a.intBytes(n))
}

func (w *tw) int(name string, n int64) {
	w.key(name)
	w.num(n)
	w.nl()
}

func (w *tw) boolean(name string, v bool) {
	w.key(name)
	if v {
		w.t(hclsyntax.TokenIdent, bTrue)
	} else {
		w.t(hclsyntax.TokenIdent, bFalse)
	}
	w.nl()
}

// list writes a list of strings on one line.
func (w *tw) list(name string, xs ...string) {
	w.key(name)
	w.p(hclsyntax.TokenOBrack)
	for i, x := range xs {
		if i > 0 {
			w.p(hclsyntax.TokenComma)
		}
		w.quoted(x)
	}
	w.p(hclsyntax.TokenCBrack)
	w.nl()
}

// trav writes a traversal like google_compute_disk.x.self_link.
func (w *tw) trav(parts ...string) {
	for i, p := range parts {
		if i > 0 {
			w.p(hclsyntax.TokenDot)
		}
		w.ident(p)
	}
}

// ref writes `name = a.b.c`.
func (w *tw) ref(name string, parts ...string) {
	w.key(name)
	w.trav(parts...)
	w.nl()
}

// refs writes `name = [a.b.c]` with one traversal.
func (w *tw) refs(name string, parts ...string) {
	w.key(name)
	w.p(hclsyntax.TokenOBrack)
	w.trav(parts...)
	w.p(hclsyntax.TokenCBrack)
	w.nl()
}

// object opens `name = {` for n entries (as objectTokens writes it); each
// entry is written by entryKey plus its value and nl; closeObject ends it.
func (w *tw) object(name string, n int) {
	w.key(name)
	w.p(hclsyntax.TokenOBrace)
	if n > 0 {
		w.nl()
	}
}

func (w *tw) entryKey(k string, quoteKey bool) {
	if !quoteKey && hcltokens.ValidIdent(k) {
		w.ident(k)
	} else {
		w.quoted(k)
	}
	w.p(hclsyntax.TokenEqual)
}

func (w *tw) entry(k, v string) {
	w.entryKey(k, false)
	w.quoted(v)
	w.nl()
}

func (w *tw) closeObject() {
	w.p(hclsyntax.TokenCBrace)
	w.nl()
}

var (
	bTrue  = []byte("true")
	bFalse = []byte("false")
)

const slabBytes = 32 << 10

// bytes copies s into the arena's byte slab: token bytes are read-only, and
// one slab holds thousands of them.
func (a *arena) bytes(s string) []byte {
	if len(s) > slabBytes/4 {
		return []byte(s)
	}
	if cap(a.slab)-len(a.slab) < len(s) {
		a.slab = make([]byte, 0, slabBytes)
	}
	n := len(a.slab)
	a.slab = append(a.slab, s...)
	return a.slab[n:len(a.slab):len(a.slab)]
}

func (a *arena) intBytes(n int64) []byte {
	if cap(a.slab)-len(a.slab) < 20 {
		a.slab = make([]byte, 0, slabBytes)
	}
	m := len(a.slab)
	a.slab = strconv.AppendInt(a.slab, n, 10)
	return a.slab[m:len(a.slab):len(a.slab)]
}
