package terraform

import (
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"golang.org/x/text/unicode/norm"
)

// Literal tokens built the way hclwrite.TokensForValue builds them for
// cty strings, numbers, bools, lists and maps (TestTokensMatchHCLWrite
// holds them equal), minus its per-value formatting pass: the file is
// formatted once at the end (fileBytes).

// arena hands out tokens from chunks: a module has thousands of tokens and
// allocating each alone made rendering allocation-bound. Render returns its
// arena to a pool once the bytes are written, so chunks are reused.
type arena struct {
	chunks [][]hclwrite.Token
	cur    int             // index of the chunk in use
	ptrs   hclwrite.Tokens // tokens of the files being written (tw)
	slab   []byte          // token bytes (tw)
	lines  []fmtLine       // formatter scratch
}

const chunkTokens = 1024

var arenas = sync.Pool{New: func() any { return &arena{} }}

func (a *arena) tok(t hclsyntax.TokenType, b []byte) *hclwrite.Token {
	if a == nil {
		return &hclwrite.Token{Type: t, Bytes: b}
	}
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]hclwrite.Token, 0, chunkTokens))
	}
	c := &a.chunks[a.cur]
	if len(*c) == cap(*c) {
		a.cur++
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]hclwrite.Token, 0, chunkTokens))
		}
		c = &a.chunks[a.cur]
	}
	*c = append(*c, hclwrite.Token{Type: t, Bytes: b})
	return &(*c)[len(*c)-1]
}

// reset makes every chunk reusable; nothing may hold its tokens.
func (a *arena) reset() {
	for i := range a.chunks {
		clear(a.chunks[i])
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
	clear(a.ptrs)
	a.ptrs = a.ptrs[:0]
	a.slab = a.slab[:0]
}

var (
	bOBrace  = []byte{'{'}
	bCBrace  = []byte{'}'}
	bOBrack  = []byte{'['}
	bCBrack  = []byte{']'}
	bComma   = []byte{','}
	bNewline = []byte{'\n'}
	bEqual   = []byte{'='}
	bDot     = []byte{'.'}
)

var (
	quote = []byte{'"'}
)

// appendStr appends a quoted string literal (NFC-normalised like
// cty.StringVal, escaped like hclwrite).
func (a *arena) appendStr(toks hclwrite.Tokens, s string) hclwrite.Tokens {
	toks = append(toks, a.tok(hclsyntax.TokenOQuote, quote))
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	if src := escapeLit(s); len(src) > 0 {
		toks = append(toks, a.tok(hclsyntax.TokenQuotedLit, src))
	}
	return append(toks, a.tok(hclsyntax.TokenCQuote, quote))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func escapeLit(s string) []byte {
	if s == "" {
		return nil
	}
	if plainLit(s) {
		return []byte(s)
	}
	buf := make([]byte, 0, len(s)+2)
	for i, r := range s {
		switch r {
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '$', '%':
			buf = append(buf, byte(r))
			if i+1 < len(s) && s[i+1] == '{' {
				buf = append(buf, byte(r))
			}
		default:
			switch {
			case r < utf8.RuneSelf && r >= 0x20 && r != 0x7f:
				buf = append(buf, byte(r))
			case !unicode.IsPrint(r):
				if r < 65536 {
					buf = fmt.Appendf(buf, "\\u%04x", r)
				} else {
					buf = fmt.Appendf(buf, "\\U%08x", r)
				}
			default:
				buf = utf8.AppendRune(buf, r)
			}
		}
	}
	return buf
}

func (a *arena) strTokens(s string) hclwrite.Tokens {
	return a.appendStr(make(hclwrite.Tokens, 0, 3), s)
}

func (a *arena) listTokens(xs []string) hclwrite.Tokens {
	toks := make(hclwrite.Tokens, 0, 2+len(xs)*4)
	toks = append(toks, a.tok(hclsyntax.TokenOBrack, bOBrack))
	for i, x := range xs {
		if i > 0 {
			toks = append(toks, a.tok(hclsyntax.TokenComma, bComma))
		}
		toks = a.appendStr(toks, x)
	}
	return append(toks, a.tok(hclsyntax.TokenCBrack, bCBrack))
}

// mapTokens is a map(string) literal with sorted keys, one per line.
func (a *arena) mapTokens(m map[string]string) hclwrite.Tokens {
	keys := sortedKeys(m)
	vals := make([]hclwrite.Tokens, len(keys))
	for i, k := range keys {
		vals[i] = a.strTokens(m[k])
	}
	return a.objectTokens(keys, vals, false)
}

// objectTokens is an object literal; keys that are identifiers stay bare
// (as hclwrite writes them) unless quoteKeys.
func (a *arena) objectTokens(keys []string, vals []hclwrite.Tokens, quoteKeys bool) hclwrite.Tokens {
	toks := make(hclwrite.Tokens, 0, 2+len(keys)*6)
	toks = append(toks, a.tok(hclsyntax.TokenOBrace, bOBrace))
	if len(keys) > 0 {
		toks = append(toks, a.tok(hclsyntax.TokenNewline, bNewline))
	}
	for i, k := range keys {
		if !quoteKeys && validIdent(k) {
			toks = append(toks, a.tok(hclsyntax.TokenIdent, []byte(k)))
		} else {
			toks = a.appendStr(toks, k)
		}
		toks = append(toks, a.tok(hclsyntax.TokenEqual, bEqual))
		toks = append(toks, vals[i]...)
		toks = append(toks, a.tok(hclsyntax.TokenNewline, bNewline))
	}
	return append(toks, a.tok(hclsyntax.TokenCBrace, bCBrace))
}

// attr appends "name = value" to a body as one unstructured node: the same
// tokens SetAttributeRaw writes, without building an attribute node tree
// (adopt.go writes its import blocks with it; Render uses tw).
func (a *arena) attr(b *hclwrite.Body, name string, val hclwrite.Tokens) {
	toks := make(hclwrite.Tokens, 0, len(val)+3)
	toks = append(toks, a.tok(hclsyntax.TokenIdent, []byte(name)), a.tok(hclsyntax.TokenEqual, bEqual))
	toks = append(toks, val...)
	toks = append(toks, a.tok(hclsyntax.TokenNewline, bNewline))
	b.AppendUnstructuredTokens(toks)
}

func (a *arena) setStr(b *hclwrite.Body, name, s string) { a.attr(b, name, a.strTokens(s)) }

// validIdent is hclsyntax.ValidIdentifier with an ASCII fast path (letter
// or underscore, then letters, digits, underscores and dashes).
func validIdent(s string) bool {
	if s == "" || !isASCII(s) {
		return hclsyntax.ValidIdentifier(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}
