package dashboard

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/ferrymigrate/ferry/textsafe"
	"github.com/ferrymigrate/ferry/tracking"
)

// waveSpan is one wave on the timeline.
type waveSpan struct {
	Name               string
	Apps, Done, Active int
	NotBefore          time.Time
	Start, End         time.Time // first start, last done (or now while open)
}

func (s *Server) waves(rows []tracking.Row, now time.Time) []waveSpan {
	var names []string
	notBefore := map[string]time.Time{}
	if s.cfg.Plan != nil {
		for _, w := range s.cfg.Plan.Waves {
			names = append(names, w.Name)
			notBefore[w.Name] = w.NotBefore
		}
	}
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	var out []waveSpan
	for _, n := range names {
		out = append(out, waveSpan{Name: n, NotBefore: notBefore[n]})
	}
	for _, r := range rows {
		if !r.InPlan || r.Wave == "" {
			continue
		}
		i, ok := idx[r.Wave]
		if !ok {
			i = len(out)
			idx[r.Wave] = i
			out = append(out, waveSpan{Name: r.Wave})
		}
		w := &out[i]
		w.Apps++
		if !r.StartedAt.IsZero() {
			w.Active++
			if w.Start.IsZero() || r.StartedAt.Before(w.Start) {
				w.Start = r.StartedAt
			}
		}
		if r.Done() {
			w.Done++
			if r.DoneAt.After(w.End) {
				w.End = r.DoneAt
			}
		}
	}
	for i := range out {
		if w := &out[i]; !w.Start.IsZero() && w.Done < w.Apps {
			w.End = now
		}
	}
	return out
}

// writeTimeline draws one bar per wave from its first start to its last
// completion (now while open), with its not-before date and the target.
func (s *Server) writeTimeline(w io.Writer, rows []tracking.Row, now time.Time) error {
	ws := s.waves(rows, now)
	from, to := now, now
	var target time.Time
	if s.cfg.Plan != nil {
		target = s.cfg.Plan.Target
	}
	for _, x := range ws {
		for _, t := range []time.Time{x.Start, x.NotBefore} {
			if !t.IsZero() && t.Before(from) {
				from = t
			}
			if !t.IsZero() && t.After(to) {
				to = t
			}
		}
	}
	if !target.IsZero() && target.After(to) {
		to = target
	}
	if to.Sub(from) < time.Hour {
		to = from.Add(time.Hour)
	}
	const width, left, right, rowH, top = 720, 150, 20, 26, 24
	height := top + rowH*len(ws) + 24
	x := func(t time.Time) float64 {
		return left + float64(t.Sub(from))/float64(to.Sub(from))*(width-left-right)
	}
	esc := func(s string) string { return html.EscapeString(textsafe.Line(s)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="ferry-timeline" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height, width, height)
	for i, wv := range ws {
		y := top + i*rowH
		state := "planned"
		switch {
		case wv.Apps > 0 && wv.Done == wv.Apps:
			state = "done"
		case wv.Active > 0:
			state = "running"
		}
		fmt.Fprintf(&b, `<g class="wave %s" data-wave="%s" data-apps="%d" data-done="%d"><title>%s: %d of %d apps done, %d started</title>`,
			state, esc(wv.Name), wv.Apps, wv.Done, esc(wv.Name), wv.Done, wv.Apps, wv.Active)
		fmt.Fprintf(&b, `<text x="6" y="%d">%s <tspan fill="#5f6368">%d/%d done</tspan></text>`, y+15, esc(wv.Name), wv.Done, wv.Apps)
		if !wv.Start.IsZero() {
			x0, x1 := x(wv.Start), x(wv.End)
			fill := map[string]string{"done": "#34a853", "running": "#1a73e8"}[state]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" rx="3" fill="%s" opacity="0.35"/>`, x0, y+3, max(x1-x0, 3), fill)
			if wv.Apps > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" rx="3" fill="%s"/>`, x0, y+3, max(x1-x0, 3)*float64(wv.Done)/float64(wv.Apps), fill)
			}
		}
		if !wv.NotBefore.IsZero() {
			fmt.Fprintf(&b, `<path d="M%.1f,%d l5,-6 h-10 z" fill="#5f6368"><title>not before %s</title></path>`, x(wv.NotBefore), y+3, wv.NotBefore.UTC().Format("2006-01-02"))
		}
		b.WriteString("</g>\n")
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#5f6368" stroke-dasharray="1 2"/><text x="%.1f" y="14" text-anchor="middle" fill="#5f6368">now</text>`+"\n",
		x(now), x(now), top-4, height-20, x(now))
	if !target.IsZero() {
		fmt.Fprintf(&b, `<line class="target" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#d93025"/><text x="%.1f" y="14" text-anchor="end" fill="#d93025">target %s</text>`+"\n",
			x(target), x(target), top-4, height-20, x(target), target.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#5f6368">%s</text><text x="%d" y="%d" text-anchor="end" fill="#5f6368">%s</text>`+"\n",
		left, height-6, from.UTC().Format("2006-01-02"), width-right, height-6, to.UTC().Format("2006-01-02"))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
