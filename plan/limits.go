package plan

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Parser limits. hclsyntax parses nested expressions by recursion, and Go
// turns a stack overflow into a fatal error no recover can catch: a plan
// of a few megabytes of "[" or "!" would kill the CLI or the worker that
// loads it. Parse therefore lexes the source first (the lexer is a state
// machine, not recursive) and refuses anything nested deeper than any real
// plan needs, before the parser sees it.
const (
	// MaxPlanBytes is the largest plan file ferry reads (a plan of a
	// thousand apps is about 2 MiB).
	MaxPlanBytes = 8 << 20
	// MaxNesting is how deeply blocks, brackets, parentheses, template
	// interpolations, conditionals and unary operators may nest.
	MaxNesting = 64
)

// checkLimits reports a source that is too large or nested too deeply to
// parse safely, at the position where the limit is crossed.
func checkLimits(filename string, src []byte) hcl.Diagnostics {
	if len(src) > MaxPlanBytes {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plan file too large",
			Detail: fmt.Sprintf("%s is %d bytes; ferry reads plans of at most %d bytes (%d MiB). Check that this is the plan file, or split generated content out of it.",
				filename, len(src), MaxPlanBytes, MaxPlanBytes>>20),
			Subject: &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos) // the parser reports lexical errors
	if t := tooDeep(toks); t != nil {
		r := t.Range
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression nested too deeply",
			Detail: fmt.Sprintf("This %q opens nesting level %d; ferry refuses plans nested more than %d levels deep (blocks, brackets, parentheses, interpolations, conditionals and unary operators count). No real plan needs that: check the file for generated or corrupted content.",
				string(t.Bytes), MaxNesting+1, MaxNesting),
			Subject: &r,
		}}
	}
	return nil
}

// tooDeep returns the first token that takes the nesting past MaxNesting,
// or nil. Depth counts what makes the parser recurse: every open group
// (brace, bracket, parenthesis, quoted or heredoc template, interpolation,
// template if/for), every "?" of a conditional chain within one item of a
// group, and a run of unary "!" or "-".
func tooDeep(toks hclsyntax.Tokens) *hclsyntax.Token {
	type level struct {
		open      hclsyntax.TokenType
		questions int // "?" in the current item of this group
		directive int // open %{if} / %{for} in this template
	}
	stack := []level{{open: hclsyntax.TokenNil}}
	depth, unary := 0, 0 // depth: open groups + questions + directives of every level
	top := func() *level { return &stack[len(stack)-1] }
	endItem := func() {
		depth -= top().questions
		top().questions = 0
	}
	for i := range toks {
		t := &toks[i]
		if t.Type == hclsyntax.TokenBang || t.Type == hclsyntax.TokenMinus {
			unary++
		} else {
			unary = 0
		}
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			if t.Type == hclsyntax.TokenTemplateControl && i+1 < len(toks) && toks[i+1].Type == hclsyntax.TokenIdent {
				switch string(toks[i+1].Bytes) {
				case "if", "for":
					top().directive++
					depth++
				case "endif", "endfor":
					if top().directive > 0 {
						top().directive--
						depth--
					}
				}
			}
			stack = append(stack, level{open: t.Type})
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if len(stack) > 1 {
				l := stack[len(stack)-1]
				depth -= 1 + l.questions + l.directive
				stack = stack[:len(stack)-1]
			}
		case hclsyntax.TokenQuestion:
			top().questions++
			depth++
		case hclsyntax.TokenComma:
			endItem()
		case hclsyntax.TokenNewline:
			// Newlines end an attribute in a body or an object; inside
			// brackets and parentheses the parser ignores them.
			if o := top().open; o == hclsyntax.TokenNil || o == hclsyntax.TokenOBrace {
				endItem()
			}
		}
		if depth+unary > MaxNesting {
			return t
		}
	}
	return nil
}
