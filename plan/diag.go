package plan

import (
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// WriteDiagnostics prints diagnostics as file:line:col with a source
// snippet, the way terraform does.
func WriteDiagnostics(w io.Writer, filename string, src []byte, diags hcl.Diagnostics) error {
	files := map[string]*hcl.File{filename: {Bytes: src}}
	return hcl.NewDiagnosticTextWriter(w, files, 100, false).WriteDiagnostics(diags)
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
