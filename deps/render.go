package deps

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats are the output formats of ferry deps.
var Formats = []string{"table", "json", "dot", "mermaid", "svg"}

// Render writes r in one of Formats.
func Render(w io.Writer, r *Result, format string) error {
	switch format {
	case "table", "":
		return RenderTable(w, r)
	case "json":
		return RenderJSON(w, r)
	case "dot":
		return RenderDOT(w, r)
	case "mermaid":
		return RenderMermaid(w, r)
	case "svg":
		return RenderSVG(w, r, SVGOptions{})
	}
	return fmt.Errorf("format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// RenderJSON writes the documented ferry.deps/v1 document.
func RenderJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// RenderTable writes waves, then one line per app, then warnings.
func RenderTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tMOVE GROUP\tAPP\tVMS\tDEPENDS ON\tBLAST RADIUS")
	for _, n := range r.Apps {
		if n.Kind != KindApp {
			continue
		}
		wave := strconv.Itoa(n.Wave)
		if n.Migrated {
			wave = "migrated"
		}
		deps := r.DependsOn(n.ID)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\n", wave, n.MoveGroup, n.ID, len(n.VMs), orDash(strings.Join(deps, ", ")), len(r.BlastRadius[n.ID]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, wv := range r.Waves {
		fmt.Fprintf(w, "%s: %d apps, %d VMs: %s\n", wv.Name, len(wv.Apps), wv.VMs, strings.Join(wv.Apps, ", "))
	}
	for _, g := range r.MoveGroups {
		if len(g.Apps) > 1 {
			fmt.Fprintf(w, "move group %s (%s): %s\n", g.ID, g.Reason, strings.Join(g.Apps, ", "))
		}
	}
	fmt.Fprintf(w, "%d flow records, %d conversations, %d malformed lines skipped\n", r.Stats.Records, r.Stats.Conversations, r.Stats.ParseErrors)
	if d := r.Stats.Direction; d.Paired+d.ByRecord+d.ByListening+d.ByWellKnown+d.ByPeers+d.ByPortRange+d.ByFewPeers+d.Ambiguous > 0 {
		fmt.Fprintf(w, "server side: %d by TCP flags or socket state, %d by listening sockets, %d by well-known port, %d by peer count, %d by port range, %d by a few more peers; %d replies paired with their request\n",
			d.ByRecord, d.ByListening, d.ByWellKnown, d.ByPeers, d.ByPortRange, d.ByFewPeers, d.Paired)
	}
	if a := r.Ambiguous; a.Conversations > 0 {
		fmt.Fprintf(w, "ambiguous: %d conversations (%d records, %s) with no telling which side is the server make no edge; pass an 'ss -ltn' capture of these hosts with --flows to decide them:\n",
			a.Conversations, a.Records, humanBytes(a.Bytes))
		for _, x := range a.Examples {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RenderDOT writes a Graphviz digraph: one cluster per wave, externals
// outside, edges labelled with ports and bytes.
func RenderDOT(w io.Writer, r *Result) error {
	b := &strings.Builder{}
	b.WriteString("digraph ferry_deps {\n  rankdir=RL;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	byWave := map[int][]Node{}
	for _, n := range r.Apps {
		byWave[n.Wave] = append(byWave[n.Wave], n)
	}
	waves := make([]int, 0, len(byWave))
	for wv := range byWave {
		waves = append(waves, wv)
	}
	sort.Ints(waves)
	for _, wv := range waves {
		indent := "  "
		if wv > 0 {
			fmt.Fprintf(b, "  subgraph cluster_wave_%d {\n    label=%s;\n", wv, dotQuote(fmt.Sprintf("wave-%d", wv)))
			indent = "    "
		}
		for _, n := range byWave[wv] {
			attrs := fmt.Sprintf("label=%s", dotQuote(n.Name))
			switch {
			case n.External:
				attrs += ", style=\"rounded,dashed\""
			case n.Migrated:
				attrs += ", style=\"rounded,filled\", fillcolor=\"#d9f2d9\""
			}
			fmt.Fprintf(b, "%s%s [%s];\n", indent, dotQuote(n.ID), attrs)
		}
		if wv > 0 {
			b.WriteString("  }\n")
		}
	}
	for _, e := range r.Edges {
		style := ""
		if e.Declared && !e.Observed {
			style = ", style=dashed"
		}
		fmt.Fprintf(b, "  %s -> %s [label=%s%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(edgeLabel(e)), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func edgeLabel(e Edge) string {
	var parts []string
	if len(e.Ports) > 0 {
		ps := make([]string, 0, len(e.Ports))
		for i, p := range e.Ports {
			if i == 4 {
				ps = append(ps, fmt.Sprintf("+%d", len(e.Ports)-4))
				break
			}
			ps = append(ps, strconv.Itoa(p))
		}
		parts = append(parts, strings.Join(ps, ","))
	}
	if e.Bytes > 0 {
		parts = append(parts, humanBytes(e.Bytes))
	}
	if e.Declared && !e.Observed {
		parts = append(parts, "declared")
	}
	return strings.Join(parts, " ")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

var mermaidUnsafe = regexp.MustCompile(`[^A-Za-z0-9 _.:/+-]`)

// RenderMermaid writes a Mermaid flowchart with one subgraph per wave.
func RenderMermaid(w io.Writer, r *Result) error {
	b := &strings.Builder{}
	b.WriteString("flowchart RL\n")
	ids := map[string]string{}
	for i, n := range r.Apps {
		ids[n.ID] = fmt.Sprintf("n%d", i)
	}
	label := func(s string) string { return `"` + mermaidUnsafe.ReplaceAllString(s, "_") + `"` }
	byWave := map[int][]Node{}
	for _, n := range r.Apps {
		byWave[n.Wave] = append(byWave[n.Wave], n)
	}
	for wv := 1; wv <= len(r.Waves); wv++ {
		fmt.Fprintf(b, "  subgraph wave%d[\"wave-%d\"]\n", wv, wv)
		for _, n := range byWave[wv] {
			fmt.Fprintf(b, "    %s[%s]\n", ids[n.ID], label(n.Name))
		}
		b.WriteString("  end\n")
	}
	for _, n := range byWave[0] {
		if n.External {
			fmt.Fprintf(b, "  %s([%s])\n", ids[n.ID], label(n.Name))
		} else {
			fmt.Fprintf(b, "  %s[%s]\n", ids[n.ID], label(n.Name+" (migrated)"))
		}
	}
	for _, e := range r.Edges {
		arrow := "-->"
		if e.Declared && !e.Observed {
			arrow = "-.->"
		}
		if l := edgeLabel(e); l != "" {
			fmt.Fprintf(b, "  %s %s|%s| %s\n", ids[e.From], arrow, label(l), ids[e.To])
		} else {
			fmt.Fprintf(b, "  %s %s %s\n", ids[e.From], arrow, ids[e.To])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
