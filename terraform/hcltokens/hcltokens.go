// Package hcltokens builds the hclwrite tokens of literal values (strings,
// lists and maps of strings, objects) without going through cty. Its
// contract is equality: every builder writes exactly what
// hclwrite.TokensForValue writes for the same value (hcltokens_test.go
// holds them equal), minus hclwrite's per-value formatting pass, so a
// caller formats a whole file once at the end.
//
// Tokens come from an Arena, which hands them out in chunks: a module has
// thousands of tokens and allocating each alone made rendering
// allocation-bound.
package hcltokens

import (
	"fmt"
	"maps"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"golang.org/x/text/unicode/norm"
)

// Arena allocates tokens in chunks. The zero value is ready; a nil *Arena
// allocates each token alone. Reset makes every chunk reusable.
type Arena struct {
	chunks [][]hclwrite.Token
	cur    int // index of the chunk in use
}

const chunkTokens = 1024

// Tok is a new token of type t holding b (not copied: b must not change).
func (a *Arena) Tok(t hclsyntax.TokenType, b []byte) *hclwrite.Token {
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

// Reset makes every chunk reusable; nothing may hold its tokens.
func (a *Arena) Reset() {
	for i := range a.chunks {
		clear(a.chunks[i])
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}

// Punct is a new punctuation token of type t: a brace, bracket or
// parenthesis, comma, equals sign, dot, newline, or an opening or closing
// quote; any other type panics.
func (a *Arena) Punct(t hclsyntax.TokenType) *hclwrite.Token {
	switch {
	case t == hclsyntax.TokenOQuote || t == hclsyntax.TokenCQuote:
		return a.Tok(t, bQuote)
	case t < hclsyntax.TokenType(len(punct)) && punct[t] != nil:
		return a.Tok(t, punct[t])
	}
	panic("hcltokens: " + t.String() + " is not punctuation")
}

// punct holds the bytes of the one-character punctuation tokens, by type:
// hclsyntax gives each of these types its own character as its value
// (TokenOBrace is '{'); the quotes, « and », are written as ".
var punct = func() (p [128][]byte) {
	for _, c := range "{}[](),=.\n" {
		p[c] = []byte{byte(c)}
	}
	return p
}()

var bQuote = []byte{'"'}

// AppendStr appends a quoted string literal (NFC-normalised like
// cty.StringVal, escaped like hclwrite) to toks.
func (a *Arena) AppendStr(toks hclwrite.Tokens, s string) hclwrite.Tokens {
	toks = append(toks, a.Punct(hclsyntax.TokenOQuote))
	if !IsASCII(s) {
		s = norm.NFC.String(s)
	}
	if src := Escape(s); len(src) > 0 {
		toks = append(toks, a.Tok(hclsyntax.TokenQuotedLit, src))
	}
	return append(toks, a.Punct(hclsyntax.TokenCQuote))
}

// Str is a quoted string literal.
func (a *Arena) Str(s string) hclwrite.Tokens {
	return a.AppendStr(make(hclwrite.Tokens, 0, 3), s)
}

// List is a list of string literals on one line.
func (a *Arena) List(xs []string) hclwrite.Tokens {
	toks := make(hclwrite.Tokens, 0, 2+len(xs)*4)
	toks = append(toks, a.Punct(hclsyntax.TokenOBrack))
	for i, x := range xs {
		if i > 0 {
			toks = append(toks, a.Punct(hclsyntax.TokenComma))
		}
		toks = a.AppendStr(toks, x)
	}
	return append(toks, a.Punct(hclsyntax.TokenCBrack))
}

// Map is a map(string) literal with sorted keys, one per line.
func (a *Arena) Map(m map[string]string) hclwrite.Tokens {
	keys := slices.Sorted(maps.Keys(m))
	vals := make([]hclwrite.Tokens, len(keys))
	for i, k := range keys {
		vals[i] = a.Str(m[k])
	}
	return a.Object(keys, vals, false)
}

// Object is an object literal, one attribute per line; keys that are
// identifiers stay bare (as hclwrite writes them) unless quoteKeys.
func (a *Arena) Object(keys []string, vals []hclwrite.Tokens, quoteKeys bool) hclwrite.Tokens {
	toks := make(hclwrite.Tokens, 0, 2+len(keys)*6)
	toks = append(toks, a.Punct(hclsyntax.TokenOBrace))
	if len(keys) > 0 {
		toks = append(toks, a.Punct(hclsyntax.TokenNewline))
	}
	for i, k := range keys {
		if !quoteKeys && ValidIdent(k) {
			toks = append(toks, a.Tok(hclsyntax.TokenIdent, []byte(k)))
		} else {
			toks = a.AppendStr(toks, k)
		}
		toks = append(toks, a.Punct(hclsyntax.TokenEqual))
		toks = append(toks, vals[i]...)
		toks = append(toks, a.Punct(hclsyntax.TokenNewline))
	}
	return append(toks, a.Punct(hclsyntax.TokenCBrace))
}

// Attr appends "name = val" to a body as one unstructured node: the same
// tokens SetAttributeRaw writes, without building an attribute node tree.
func (a *Arena) Attr(b *hclwrite.Body, name string, val hclwrite.Tokens) {
	toks := make(hclwrite.Tokens, 0, len(val)+3)
	toks = append(toks, a.Tok(hclsyntax.TokenIdent, []byte(name)), a.Punct(hclsyntax.TokenEqual))
	toks = append(toks, val...)
	toks = append(toks, a.Punct(hclsyntax.TokenNewline))
	b.AppendUnstructuredTokens(toks)
}

// SetStr appends "name = <s quoted>" to a body (see Attr).
func (a *Arena) SetStr(b *hclwrite.Body, name, s string) { a.Attr(b, name, a.Str(s)) }

// IsASCII reports whether s is all ASCII (no normalisation needed).
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Plain reports whether s stands in a quoted literal as it is: printable
// ASCII without quote, backslash or the template introducers $ and %.
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '$' || c == '%' {
			return false
		}
	}
	return true
}

// Escape is the body of a quoted literal holding s (already NFC), escaped
// as hclwrite escapes it: control characters, quote and backslash, and
// "${" / "%{" doubled so they stay text.
func Escape(s string) []byte {
	if s == "" {
		return nil
	}
	if Plain(s) {
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

// ValidIdent is hclsyntax.ValidIdentifier with an ASCII fast path (letter
// or underscore, then letters, digits, underscores and dashes).
func ValidIdent(s string) bool {
	if s == "" || !IsASCII(s) {
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
