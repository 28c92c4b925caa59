package terraform

import (
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// fileBytes returns a generated file formatted exactly as hclwrite (and
// `terraform fmt`) would. hclwrite's own formatter measures every cell with
// a Unicode grapheme scanner that allocates per call, which dominated the
// cost of rendering thousands of modules; this is the same algorithm
// (indent by bracket depth, space rules, `=` alignment over consecutive
// single-line attributes) restricted to the tokens the renderer emits (no
// comments, heredocs, templates or operators), with an ASCII fast path for
// column counts. TestFormatMatchesHCLWrite holds it equal to hclwrite.Format.
func fileBytes(f *hclwrite.File) []byte {
	return filesBytes(&arena{}, []*hclwrite.File{f})[0]
}

// filesBytes formats several files into one buffer, allocated once, and
// returns each file's bytes as a slice of it.
func filesBytes(a *arena, files []*hclwrite.File) [][]byte {
	tp := tokenBufs.Get().(*hclwrite.Tokens)
	toks := (*tp)[:0]
	var ends [8]int
	endsOf := ends[:0]
	for _, f := range files {
		start := len(toks)
		toks = f.BuildTokens(toks)
		a.lines = formatTokens(toks[start:], a.lines[:0])
		endsOf = append(endsOf, len(toks))
	}
	n := 0
	for _, t := range toks {
		n += t.SpacesBefore + len(t.Bytes)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(files))
	start, from := 0, 0
	for i, end := range endsOf {
		for _, t := range toks[from:end] {
			for j := 0; j < t.SpacesBefore; j++ {
				buf = append(buf, ' ')
			}
			buf = append(buf, t.Bytes...)
		}
		out[i] = buf[start:len(buf):len(buf)]
		start, from = len(buf), end
	}
	clear(toks)
	*tp = toks[:0]
	tokenBufs.Put(tp)
	return out
}

var tokenBufs = sync.Pool{New: func() any { t := make(hclwrite.Tokens, 0, 4096); return &t }}

type fmtLine struct{ lead, assign hclwrite.Tokens }

// formatTokens sets the spaces before each token; lines is scratch space
// (returned, possibly grown, for reuse).
func formatTokens(toks hclwrite.Tokens, lines []fmtLine) []fmtLine {
	lines = lines[:0]
	start := 0
	for i, t := range toks {
		if t.Type == hclsyntax.TokenEOF {
			if start < i {
				lines = append(lines, fmtLine{lead: toks[start:i]})
			}
			start = len(toks)
			break
		}
		if t.Type == hclsyntax.TokenNewline {
			lines = append(lines, fmtLine{lead: toks[start : i+1]})
			start = i + 1
		}
	}
	if start < len(toks) {
		lines = append(lines, fmtLine{lead: toks[start:]})
	}
	for i := range lines {
		l := &lines[i]
		for j, t := range l.lead {
			if j > 0 && t.Type == hclsyntax.TokenEqual {
				net := 0
				for _, x := range l.lead[j:] {
					net += bracketChange(x)
				}
				if net == 0 {
					l.assign, l.lead = l.lead[j:], l.lead[:j]
				}
				break
			}
		}
	}

	// Indentation.
	indents := make([]int, 0, 10)
	for i := range lines {
		l := &lines[i]
		if len(l.lead) == 0 {
			continue
		}
		if l.lead[0].Type == hclsyntax.TokenNewline {
			l.lead[0].SpacesBefore = 0
			continue
		}
		net := 0
		for _, t := range l.lead {
			net += bracketChange(t)
		}
		for _, t := range l.assign {
			net += bracketChange(t)
		}
		switch {
		case net > 0:
			l.lead[0].SpacesBefore = 2 * len(indents)
			indents = append(indents, net)
		case net < 0:
			closed := -net
			for closed > 0 && len(indents) > 0 {
				top := indents[len(indents)-1]
				switch {
				case closed > top:
					closed -= top
					indents = indents[:len(indents)-1]
				case closed < top:
					indents[len(indents)-1] -= closed
					closed = 0
				default:
					indents = indents[:len(indents)-1]
					closed = 0
				}
			}
			l.lead[0].SpacesBefore = 2 * len(indents)
		default:
			l.lead[0].SpacesBefore = 2 * len(indents)
		}
	}

	// Spaces between tokens.
	for _, l := range lines {
		spaceCell(l.lead, false)
		spaceCell(l.assign, true)
	}

	// Align "=" over runs of single-line attributes.
	chain, maxCols := -1, 0
	closeChain := func(end int) {
		for _, cl := range lines[chain:end] {
			cl.assign[0].SpacesBefore = maxCols - columns(cl.lead) + 1
		}
		chain, maxCols = -1, 0
	}
	for i, l := range lines {
		if l.assign == nil {
			if chain != -1 {
				closeChain(i)
			}
			continue
		}
		if chain == -1 {
			chain = i
		}
		if c := columns(l.lead); c > maxCols {
			maxCols = c
		}
	}
	if chain != -1 {
		closeChain(len(lines))
	}
	clear(lines)
	return lines[:0]
}

func spaceCell(cell hclwrite.Tokens, assign bool) {
	for i, t := range cell {
		if i == 0 && assign {
			t.SpacesBefore = 1
		}
		if i == len(cell)-1 {
			break
		}
		after := cell[i+1]
		if spaceAfter(t, after) {
			after.SpacesBefore = 1
		} else {
			after.SpacesBefore = 0
		}
	}
}

func spaceAfter(s, a *hclwrite.Token) bool {
	switch {
	case a.Type == hclsyntax.TokenNewline || a.Type == hclsyntax.TokenNil:
		return false
	case s.Type == hclsyntax.TokenIdent && a.Type == hclsyntax.TokenOParen:
		return false
	case s.Type == hclsyntax.TokenDot || a.Type == hclsyntax.TokenDot:
		return false
	case a.Type == hclsyntax.TokenComma || a.Type == hclsyntax.TokenEllipsis:
		return false
	case s.Type == hclsyntax.TokenComma:
		return true
	case s.Type == hclsyntax.TokenQuotedLit || s.Type == hclsyntax.TokenStringLit || s.Type == hclsyntax.TokenOQuote ||
		a.Type == hclsyntax.TokenQuotedLit || a.Type == hclsyntax.TokenStringLit || a.Type == hclsyntax.TokenCQuote:
		return false
	case a.Type == hclsyntax.TokenOBrack && (s.Type == hclsyntax.TokenIdent || s.Type == hclsyntax.TokenNumberLit || bracketChange(s) < 0):
		return false
	case s.Type == hclsyntax.TokenOBrace || a.Type == hclsyntax.TokenCBrace:
		return !(s.Type == hclsyntax.TokenOBrace && a.Type == hclsyntax.TokenCBrace)
	case bracketChange(s) > 0:
		return false
	case bracketChange(a) < 0:
		return false
	}
	return true
}

func bracketChange(t *hclwrite.Token) int {
	switch t.Type {
	case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateControl, hclsyntax.TokenTemplateInterp:
		return 1
	case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
		return -1
	}
	return 0
}

// columns counts the display columns of a cell; the keys it measures are
// ASCII in practice, and runes approximate graphemes otherwise.
func columns(cell hclwrite.Tokens) int {
	n := 0
	for _, t := range cell {
		n += t.SpacesBefore
		ascii := true
		for _, c := range t.Bytes {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			n += len(t.Bytes)
		} else {
			n += utf8.RuneCount(t.Bytes)
		}
	}
	return n
}
