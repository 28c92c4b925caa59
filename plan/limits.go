package plan

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Parser limits. hclsyntax parses nested expressions by recursion, and Go
// turns a stack overflow into a fatal error no recover can catch: a plan
// of a few megabytes of "[" or "!" would kill the CLI or the worker that
// loads it. Parse therefore scans the source first, in one pass and
// without allocating (see tooDeep), and refuses anything nested deeper than
// any real plan needs before the parser sees it.
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
	if pos, what, ok := tooDeep(src, filename); ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression nested too deeply",
			Detail: fmt.Sprintf("This %q opens nesting level %d; ferry refuses plans nested more than %d levels deep (blocks, brackets, parentheses, interpolations, conditionals and unary operators count). No real plan needs that: check the file for generated or corrupted content.",
				what, MaxNesting+1, MaxNesting),
			Subject: &hcl.Range{Filename: filename, Start: pos, End: pos},
		}}
	}
	return nil
}

// tooDeep scans src once, byte by byte (hclsyntax's lexer would
// allocate a token of about 200 bytes per byte of a hostile file), and
// reports where the nesting first passes MaxNesting. Depth counts what
// makes the parser recurse: every open group (brace, bracket, parenthesis,
// quoted or heredoc template, interpolation, template if/for), every "?"
// of a conditional chain within one item of a group, and a run of unary
// "!" or "-". Comments and string contents are skipped as HCL does.
func tooDeep(src []byte, filename string) (hcl.Pos, string, bool) {
	const (
		code = iota
		quoted
		heredoc
	)
	type level struct {
		mode      int
		open      byte   // '{', '[', '(' or 0 (top level, interpolation) for code
		marker    []byte // heredoc end marker
		questions int
		directive int
	}
	stack := []level{{mode: code}}
	depth, unary := 0, 0
	line, col := 1, 1
	atLineStart := true
	top := func() *level { return &stack[len(stack)-1] }
	push := func(l level) { stack = append(stack, l); depth++ }
	pop := func() {
		if len(stack) > 1 {
			l := stack[len(stack)-1]
			depth -= 1 + l.questions + l.directive
			stack = stack[:len(stack)-1]
		}
	}
	endItem := func() { depth -= top().questions; top().questions = 0 }
	pos := func(i int) hcl.Pos { return hcl.Pos{Line: line, Column: col, Byte: i} }
	word := func(i int) string { // the identifier after %{ and blanks
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '~') {
			i++
		}
		j := i
		for j < len(src) && (src[j] >= 'a' && src[j] <= 'z') {
			j++
		}
		return string(src[i:j])
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		here := pos(i)
		wasLineStart := atLineStart
		atLineStart = c == '\n'
		if c == '\n' {
			line, col = line+1, 1
		} else if c&0xc0 != 0x80 {
			col++
		}
		l := top()
		switch l.mode {
		case quoted, heredoc:
			if l.mode == heredoc && wasLineStart {
				j := i
				for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
					j++
				}
				if k := j + len(l.marker); k <= len(src) && string(src[j:k]) == string(l.marker) && (k == len(src) || src[k] == '\n' || src[k] == '\r') {
					pop()
					continue
				}
			}
			switch {
			case l.mode == quoted && c == '\\':
				i++ // the escaped byte cannot open or close anything
				col++
			case l.mode == quoted && (c == '"' || c == '\n'):
				pop()
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == c && i+2 < len(src) && src[i+2] == '{':
				i += 2 // $${ and %%{ are literal
				col += 2
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if c == '%' {
					switch word(i + 2) {
					case "if", "for":
						l.directive++
						depth++
					case "endif", "endfor":
						if l.directive > 0 {
							l.directive--
							depth--
						}
					}
				}
				i++
				col++
				push(level{mode: code})
			}
		default: // code
			if c != '!' && c != '-' && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				unary = 0
			}
			switch c {
			case '#':
				for i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
			case '/':
				if i+1 < len(src) && src[i+1] == '/' {
					for i+1 < len(src) && src[i+1] != '\n' {
						i++
					}
				} else if i+1 < len(src) && src[i+1] == '*' {
					i += 2
					for i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/') {
						if src[i] == '\n' {
							line, col = line+1, 1
						}
						i++
					}
					i++
				}
			case '"':
				push(level{mode: quoted})
			case '<':
				if i+2 < len(src) && src[i+1] == '<' {
					j := i + 2
					if j < len(src) && src[j] == '-' {
						j++
					}
					k := j
					for k < len(src) && (src[k] == '_' || src[k] >= 'a' && src[k] <= 'z' || src[k] >= 'A' && src[k] <= 'Z' || src[k] >= '0' && src[k] <= '9') {
						k++
					}
					if k > j && k < len(src) && (src[k] == '\n' || src[k] == '\r') {
						push(level{mode: heredoc, marker: append([]byte{}, src[j:k]...)})
						col += k - i - 1
						i = k - 1
					}
				}
			case '{', '[', '(':
				push(level{mode: code, open: c})
			case '}', ']', ')':
				pop()
			case '?':
				l.questions++
				depth++
			case ',':
				endItem()
			case '\n':
				// Newlines end an attribute in a body or an object;
				// inside brackets and parentheses the parser ignores them.
				if l.open == 0 || l.open == '{' {
					endItem()
				}
			case '!', '-':
				unary++
			}
		}
		if depth+unary > MaxNesting {
			return here, string(c), true
		}
	}
	return hcl.Pos{}, "", false
}
