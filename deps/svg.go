package deps

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// SVGOptions tune RenderSVG.
type SVGOptions struct {
	// Color returns the fill colour of a node (any CSS colour) by node ID;
	// "" keeps the default (by kind).
	Color func(app string) string
	// Title is drawn at the top; empty draws none.
	Title string
	// IDPrefix prefixes element ids (the arrow marker) so several SVGs can
	// sit in one page.
	IDPrefix string
}

// Layout constants, in SVG user units (px).
const (
	svgNodeH    = 30
	svgGapY     = 14
	svgGapX     = 90
	svgMargin   = 20
	svgHeader   = 28
	svgMinW     = 90
	svgMaxChars = 28
	svgCharW    = 7.2
)

// box is one laid-out node.
type box struct {
	node       *Node
	col, row   int
	x, y, w, h float64
	label      string
}

// layout places nodes in columns (migrated, wave 1..N, outside) and
// orders each column by the barycenter of its neighbours, so edges cross
// less. Boxes never overlap: each column is a stack with fixed gaps.
func layout(r *Result) (boxes []*box, heads []column, width, height float64) {
	nw := len(r.Waves)
	cols := make([][]*box, nw+2)
	colLabels := make([]string, nw+2)
	colLabels[0] = "migrated"
	for i := 1; i <= nw; i++ {
		colLabels[i] = fmt.Sprintf("wave-%d", i)
	}
	colLabels[nw+1] = "outside"
	byID := map[string]*box{}
	for i := range r.Apps {
		n := &r.Apps[i]
		c := n.Wave
		switch {
		case n.External:
			c = nw + 1
		case n.Migrated || n.Wave <= 0 || n.Wave > nw:
			c = 0
		}
		label := n.Name
		if utf8.RuneCountInString(label) > svgMaxChars {
			label = string([]rune(label)[:svgMaxChars-1]) + "…"
		}
		b := &box{node: n, col: c, label: label, h: svgNodeH}
		b.w = math.Max(svgMinW, float64(utf8.RuneCountInString(label))*svgCharW+20)
		cols[c] = append(cols[c], b)
		byID[n.ID] = b
		boxes = append(boxes, b)
	}
	nbrs := map[*box][]*box{}
	for _, e := range r.Edges {
		a, b := byID[e.From], byID[e.To]
		if a == nil || b == nil {
			continue
		}
		nbrs[a] = append(nbrs[a], b)
		nbrs[b] = append(nbrs[b], a)
	}
	// initial order: move group, then name, keeps groups together
	for _, col := range cols {
		sort.SliceStable(col, func(i, j int) bool {
			if col[i].node.MoveGroup != col[j].node.MoveGroup {
				return col[i].node.MoveGroup < col[j].node.MoveGroup
			}
			return col[i].node.ID < col[j].node.ID
		})
		setRows(col)
	}
	for sweep := 0; sweep < 6; sweep++ {
		order := make([]int, len(cols))
		for i := range order {
			order[i] = i
			if sweep%2 == 1 {
				order[i] = len(cols) - 1 - i
			}
		}
		for _, c := range order {
			col := cols[c]
			bary := map[*box]float64{}
			for _, b := range col {
				sum, n := 0.0, 0
				for _, o := range nbrs[b] {
					if o.col != b.col {
						sum += float64(o.row)
						n++
					}
				}
				if n > 0 {
					bary[b] = sum / float64(n)
				} else {
					bary[b] = float64(b.row)
				}
			}
			sort.SliceStable(col, func(i, j int) bool { return bary[col[i]] < bary[col[j]] })
			setRows(col)
		}
	}
	x := float64(svgMargin)
	top := float64(svgMargin + svgHeader)
	for c, col := range cols {
		if len(col) == 0 {
			continue
		}
		cw := 0.0
		for _, b := range col {
			cw = math.Max(cw, b.w)
		}
		for _, b := range col {
			b.x = x + (cw-b.w)/2
			b.y = top + float64(b.row)*(svgNodeH+svgGapY)
			height = math.Max(height, b.y+b.h)
		}
		heads = append(heads, column{label: colLabels[c], x: x, w: cw})
		x += cw + svgGapX
	}
	width = math.Max(x-svgGapX+svgMargin, 200)
	height = math.Max(height+svgMargin, 100)
	return boxes, heads, width, height
}

// column is a column header: its label, left edge and width.
type column struct {
	label string
	x, w  float64
}

func setRows(col []*box) {
	for i, b := range col {
		b.row = i
	}
}

// RenderSVG draws the graph as a standalone SVG, laid out in Go: one column
// per wave (dependencies on the left), migrated apps before them and
// external endpoints after. Each node is a <g class="node"> with data-app
// (node ID), data-kind, data-wave, data-group, data-blast and data-deps
// (JSON arrays of node IDs) and a <title>, so a page can highlight a blast
// radius on click by toggling the classes hl and dim the embedded style
// defines. Edges are <path class="edge"> with data-from and data-to.
func RenderSVG(w io.Writer, r *Result, opts SVGOptions) error {
	boxes, heads, width, height := layout(r)
	titleH := 0.0
	if opts.Title != "" {
		titleH = 24
	}
	b := &strings.Builder{}
	esc := html.EscapeString
	marker := opts.IDPrefix + "ferry-arrow"
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="ferry-deps" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		width, height+titleH, width, height+titleH)
	b.WriteString(`<style>.ferry-deps .node{cursor:pointer}.ferry-deps .node.dim,.ferry-deps .edge.dim{opacity:.2}` +
		`.ferry-deps .node.hl rect{stroke:#d93025;stroke-width:3}.ferry-deps .edge.hl{stroke:#d93025;opacity:1}</style>` + "\n")
	fmt.Fprintf(b, `<defs><marker id="%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/></marker></defs>`+"\n", esc(marker))
	if opts.Title != "" {
		fmt.Fprintf(b, `<text x="%d" y="18" font-size="15" font-weight="bold">%s</text>`+"\n", svgMargin, esc(opts.Title))
	}
	fmt.Fprintf(b, `<g transform="translate(0,%.0f)">`+"\n", titleH)
	for _, h := range heads {
		fmt.Fprintf(b, `<text class="column" x="%.1f" y="%d" text-anchor="middle" fill="#5f6368" font-weight="bold">%s</text>`+"\n",
			h.x+h.w/2, svgMargin+12, esc(h.label))
	}
	byID := map[string]*box{}
	for _, bx := range boxes {
		byID[bx.node.ID] = bx
	}
	b.WriteString(`<g class="edges" fill="none" stroke="#5f6368">` + "\n")
	for _, e := range r.Edges {
		from, to := byID[e.From], byID[e.To]
		if from == nil || to == nil {
			continue
		}
		fmt.Fprintf(b, `<path class="edge" data-from="%s" data-to="%s" d="%s" stroke-width="%.1f" marker-end="url(#%s)"%s><title>%s</title></path>`+"\n",
			esc(e.From), esc(e.To), edgePath(from, to), edgeWidth(e.Bytes), esc(marker), dashIf(e.Declared && !e.Observed),
			esc(e.From+" → "+e.To+" "+edgeLabel(e)))
	}
	b.WriteString("</g>\n")
	for _, bx := range boxes {
		n := bx.node
		fill, stroke, dash := "#e8f0fe", "#1a73e8", ""
		switch {
		case n.Kind == KindExternal:
			fill, stroke, dash = "#f1f3f4", "#80868b", ` stroke-dasharray="4 3"`
		case n.Kind == KindUnassigned:
			fill, stroke, dash = "#fef7e0", "#f29900", ` stroke-dasharray="4 3"`
		case n.Migrated:
			fill, stroke = "#e6f4ea", "#188038"
		}
		if opts.Color != nil {
			if c := opts.Color(n.ID); c != "" {
				fill = c
			}
		}
		blast, _ := json.Marshal(orEmpty(r.BlastRadius[n.ID]))
		deps, _ := json.Marshal(orEmpty(r.DependsOn(n.ID)))
		fmt.Fprintf(b, `<g class="node" data-app="%s" data-kind="%s" data-wave="%d" data-group="%s" data-blast="%s" data-deps="%s">`,
			esc(n.ID), n.Kind, n.Wave, esc(n.MoveGroup), esc(string(blast)), esc(string(deps)))
		fmt.Fprintf(b, `<title>%s</title>`, esc(nodeTitle(r, n)))
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="%s" stroke="%s"%s/>`,
			bx.x, bx.y, bx.w, bx.h, esc(fill), stroke, dash)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" dominant-baseline="central">%s</text></g>`+"\n",
			bx.x+bx.w/2, bx.y+bx.h/2, esc(bx.label))
	}
	b.WriteString("</g>\n</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func dashIf(b bool) string {
	if b {
		return ` stroke-dasharray="5 4"`
	}
	return ""
}

func nodeTitle(r *Result, n *Node) string {
	var s strings.Builder
	s.WriteString(n.Name)
	switch n.Kind {
	case KindApp:
		fmt.Fprintf(&s, " (%d VMs", len(n.VMs))
		if len(n.Datacenters) > 0 {
			fmt.Fprintf(&s, ", %s", strings.Join(n.Datacenters, "+"))
		}
		if n.Migrated {
			s.WriteString(", migrated")
		} else {
			fmt.Fprintf(&s, ", wave %d, %s", n.Wave, n.MoveGroup)
		}
		s.WriteString(")")
		fmt.Fprintf(&s, "\nblast radius: %d", len(r.BlastRadius[n.ID]))
	default:
		fmt.Fprintf(&s, " (%s", n.Kind)
		if len(n.IPs) > 0 {
			fmt.Fprintf(&s, " %s", strings.Join(n.IPs, ", "))
		}
		s.WriteString(")")
	}
	return s.String()
}

// edgePath is a cubic curve from the client's side facing the server to
// the server's facing side; within one column it bows out to the right.
func edgePath(from, to *box) string {
	fy, ty := from.y+from.h/2, to.y+to.h/2
	switch {
	case from.col > to.col:
		x1, x2 := from.x, to.x+to.w
		dx := (x1 - x2) / 2
		return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, fy, x1-dx, fy, x2+dx, ty, x2, ty)
	case from.col < to.col:
		x1, x2 := from.x+from.w, to.x
		dx := (x2 - x1) / 2
		return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, fy, x1+dx, fy, x2-dx, ty, x2, ty)
	default:
		x1, x2 := from.x+from.w, to.x+to.w
		bow := math.Max(x1, x2) + 30 + math.Abs(fy-ty)/6
		return fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, fy, bow, fy, bow, ty, x2, ty)
	}
}

func edgeWidth(bytes int64) float64 {
	if bytes <= 0 {
		return 1
	}
	return math.Min(1+math.Log10(float64(bytes))/3, 5)
}
