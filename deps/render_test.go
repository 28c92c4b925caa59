package deps

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestRenderFormats(t *testing.T) {
	r := analyze(t, newFixture(), Options{})
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, r, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := buf.String()
		for _, want := range []string{"payments-gw", "billing", "web"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", f, want)
			}
		}
	}
	if err := Render(io.Discard, r, "png"); err == nil || !strings.Contains(err.Error(), "table, json") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestRenderJSONRoundTrip(t *testing.T) {
	r := analyze(t, newFixture(), Options{})
	var buf bytes.Buffer
	if err := RenderJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != Schema || len(back.Apps) != len(r.Apps) || len(back.Waves) != len(r.Waves) ||
		strings.Join(back.DependsOn("api"), ",") != strings.Join(r.DependsOn("api"), ",") {
		t.Errorf("round trip lost data: %+v", back)
	}
	// field names are the documented schema
	for _, key := range []string{`"schema"`, `"apps"`, `"edges"`, `"moveGroups"`, `"waves"`, `"blastRadius"`, `"inboundPorts"`, `"intraAppEdges"`, `"stats"`} {
		if !bytes.Contains(buf.Bytes(), []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestRenderDOTMermaid(t *testing.T) {
	r := analyze(t, newFixture(), Options{})
	var dot, mm bytes.Buffer
	if err := RenderDOT(&dot, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dot.String(), `"web" -> "api" [label="8080 1000 B"]`) || !strings.Contains(dot.String(), "subgraph cluster_wave_3") {
		t.Errorf("dot:\n%s", dot.String())
	}
	if strings.Count(dot.String(), "{") != strings.Count(dot.String(), "}") {
		t.Error("dot braces unbalanced")
	}
	if err := RenderMermaid(&mm, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mm.String(), "flowchart RL\n") || strings.Count(mm.String(), "subgraph") != 3 || strings.Count(mm.String(), "-->") != len(r.Edges) {
		t.Errorf("mermaid:\n%s", mm.String())
	}
}

type svgRect struct{ x, y, w, h float64 }

// parseSVG checks the SVG is well-formed XML and returns the node boxes
// by data-app, with each node's title.
func parseSVG(t *testing.T, data []byte) (map[string]svgRect, map[string]string, float64, float64) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	rects, titles := map[string]svgRect{}, map[string]string{}
	var w, h float64
	var cur string
	inTitle := false
	attr := func(se xml.StartElement, name string) string {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		return f
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch se := tok.(type) {
		case xml.StartElement:
			switch {
			case se.Name.Local == "svg":
				vb := strings.Fields(attr(se, "viewBox"))
				w, h = num(vb[2]), num(vb[3])
			case se.Name.Local == "g" && attr(se, "class") == "node":
				cur = attr(se, "data-app")
				var blast []string
				if err := json.Unmarshal([]byte(attr(se, "data-blast")), &blast); err != nil {
					t.Errorf("data-blast of %s: %v", cur, err)
				}
			case se.Name.Local == "rect" && cur != "":
				rects[cur] = svgRect{num(attr(se, "x")), num(attr(se, "y")), num(attr(se, "width")), num(attr(se, "height"))}
			case se.Name.Local == "title" && cur != "":
				inTitle = true
			}
		case xml.CharData:
			if inTitle {
				titles[cur] += string(se)
			}
		case xml.EndElement:
			if se.Name.Local == "title" {
				inTitle = false
			}
			if se.Name.Local == "g" {
				cur = ""
			}
		}
	}
	return rects, titles, w, h
}

func TestRenderSVG50Apps(t *testing.T) {
	f := genPortfolio(rand.New(rand.NewPCG(7, 7)), 50)
	f.flow("app1-0", "203.0.113.99=a very long external endpoint name from NSX <&>", 443, 5)
	r := analyze(t, f, Options{MaxAppsPerWave: 12})
	var buf bytes.Buffer
	colors := map[string]string{"app01": "#ff0000"}
	if err := RenderSVG(&buf, r, SVGOptions{Title: "portfolio <test>", Color: func(app string) string { return colors[app] }}); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FERRY_DEPS_SVG_OUT") != "" {
		os.WriteFile(os.Getenv("FERRY_DEPS_SVG_OUT"), buf.Bytes(), 0o644)
	}
	rects, titles, w, h := parseSVG(t, buf.Bytes())
	if len(rects) != len(r.Apps) {
		t.Fatalf("%d node boxes for %d nodes", len(rects), len(r.Apps))
	}
	ids := make([]string, 0, len(rects))
	for id, b := range rects {
		ids = append(ids, id)
		if b.x < 0 || b.y < 0 || b.x+b.w > w || b.y+b.h > h {
			t.Errorf("node %s %+v outside the %gx%g canvas", id, b, w, h)
		}
		if titles[id] == "" {
			t.Errorf("node %s has no <title>", id)
		}
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			a, b := rects[ids[i]], rects[ids[j]]
			if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
				t.Errorf("nodes %s %+v and %s %+v overlap", ids[i], a, ids[j], b)
			}
		}
	}
	if !strings.Contains(buf.String(), `fill="#ff0000"`) {
		t.Error("Color option ignored")
	}
	if w > 4000 || h > 4000 {
		t.Errorf("50 apps drawn on %gx%g: too large to read", w, h)
	}
}
