package plan

import (
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// WriteDiagnostics prints diagnostics as file:line:col with a source
// snippet, the way terraform does.
// Diagnostics are sorted by position; each starts with file:line:col.
func WriteDiagnostics(w io.Writer, filename string, src []byte, diags hcl.Diagnostics) error {
	files := map[string]*hcl.File{filename: {Bytes: src}}
	tw := hcl.NewDiagnosticTextWriter(w, files, 100, false)
	sorted := append(hcl.Diagnostics{}, diags...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Subject, sorted[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
	for _, d := range sorted {
		if d.Subject != nil {
			if _, err := fmt.Fprintf(w, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column); err != nil {
				return err
			}
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

func blocksOf(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	if body == nil {
		return nil
	}
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

func firstBlock(body *hclsyntax.Body, typ string) *hclsyntax.Block {
	if bs := blocksOf(body, typ); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// rangeOf finds the most precise range for a path of nested block types
// and an attribute, falling back to the closest enclosing block.
func rangeOf(body *hclsyntax.Body, path []string, attr string) *hcl.Range {
	var best *hcl.Range
	if body != nil {
		r := body.MissingItemRange()
		best = &r
	}
	for _, typ := range path {
		b := firstBlock(body, typ)
		if b == nil {
			return best
		}
		r := b.DefRange()
		best = &r
		body = b.Body
	}
	if attr != "" && body != nil {
		if a, ok := body.Attributes[attr]; ok {
			r := a.Expr.Range()
			best = &r
		}
	}
	return best
}

// itemRange is the range of element i of a list attribute.
func itemRange(body *hclsyntax.Body, attr string, i int) *hcl.Range {
	if body == nil {
		return nil
	}
	a, ok := body.Attributes[attr]
	if !ok {
		r := body.MissingItemRange()
		return &r
	}
	if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		r := t.Exprs[i].Range()
		return &r
	}
	r := a.Expr.Range()
	return &r
}

func errAt(body *hclsyntax.Body, path []string, attr, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rangeOf(body, path, attr)}
}

func errAttr(body *hclsyntax.Body, attr, summary, detail string) *hcl.Diagnostic {
	return errAt(body, nil, attr, summary, detail)
}

func diagAt(sev hcl.DiagnosticSeverity, r *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: r}
}
