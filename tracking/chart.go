package tracking

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// span is the time axis of the charts: from the start to the latest of
// now, the target and the forecast (the late bound when it exists).
func (b Burndown) span() (from, to time.Time) {
	from, to = b.Start, b.Now
	for _, t := range []*time.Time{&b.Target, b.Forecast.Finish, b.Forecast.Late} {
		if t != nil && !t.IsZero() && t.After(to) {
			to = *t
		}
	}
	if !to.After(from) {
		to = from.Add(24 * time.Hour)
	}
	return from, to
}

// RemainingAt is the number of apps remaining at t: the actual step curve
// up to now, then the straight forecast line to Finish.
func (b Burndown) RemainingAt(t time.Time) (apps float64, forecast bool) {
	if !t.After(b.Now) {
		n := b.Series[0].Remaining.Apps
		for _, p := range b.Series {
			if !p.At.After(t) {
				n = p.Remaining.Apps
			}
		}
		return float64(n), false
	}
	f := b.Forecast.Finish
	if f == nil || !f.After(b.Now) {
		return float64(b.Remaining.Apps), true
	}
	frac := float64(t.Sub(b.Now)) / float64(f.Sub(b.Now))
	return math.Max(0, float64(b.Remaining.Apps)*(1-frac)), true
}

// WriteText draws the remaining apps as a text chart of width × height
// cells: '█' actual, '░' forecast, '|' the target date, then the summary.
func (b Burndown) WriteText(w io.Writer, width, height int) error {
	from, to := b.span()
	total := max(b.Total.Apps, 1)
	grid := make([][]rune, height)
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", width))
	}
	col := func(t time.Time) int {
		return int(math.Round(float64(t.Sub(from)) / float64(to.Sub(from)) * float64(width-1)))
	}
	for x := 0; x < width; x++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(x) / float64(width-1)))
		v, fc := b.RemainingAt(t)
		h := int(math.Round(v / float64(total) * float64(height)))
		for y := 0; y < h; y++ {
			ch := '█'
			if fc {
				ch = '░'
			}
			grid[height-1-y][x] = ch
		}
	}
	if !b.Target.IsZero() && !b.Target.Before(from) {
		x := col(b.Target)
		for y := range grid {
			if grid[y][x] == ' ' {
				grid[y][x] = '|'
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "remaining apps (█ actual, ░ forecast, | target)\n")
	for y, row := range grid {
		label := "    "
		switch y {
		case 0:
			label = fmt.Sprintf("%4d", total)
		case height - 1:
			label = fmt.Sprintf("%4d", 0)
		}
		fmt.Fprintf(&sb, "%s ┤%s\n", label, strings.TrimRight(string(row), " "))
	}
	fmt.Fprintf(&sb, "     └%s\n", strings.Repeat("─", width))
	left, right := day(from), day(to)
	fmt.Fprintf(&sb, "      %s%*s\n", left, width-len(left), right)
	fmt.Fprintf(&sb, "\n%s\n", b.Summary())
	fmt.Fprintf(&sb, "remaining: %d/%d apps, %d/%d VMs, %d/%d vCPU, %.1f/%.1f TB\n",
		b.Remaining.Apps, b.Total.Apps, b.Remaining.VMs, b.Total.VMs, b.Remaining.VCPU, b.Total.VCPU, b.Remaining.TB(), b.Total.TB())
	if b.Forecast.Method != MethodNone {
		fmt.Fprintf(&sb, "band: %s (see docs/burndown.md)\n", b.Forecast.Method)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// SVG chart geometry.
const (
	svgW, svgH               = 720, 300
	padL, padR, padT, padB   = 48, 20, 30, 40
	plotW, plotH             = svgW - padL - padR, svgH - padT - padB
	colActual, colForecast   = "#1a73e8", "#1a73e8"
	colBand, colIdeal, colTg = "#d2e3fc", "#9aa0a6", "#d93025"
)

// WriteSVG draws the burndown of apps as a standalone SVG: the actual
// step curve, the forecast line with its confidence band, the ideal line
// from the start to the target and the target date. The root carries
// data-total, data-done and data-remaining for pages and tests.
func (b Burndown) WriteSVG(w io.Writer) error {
	from, to := b.span()
	total := float64(max(b.Total.Apps, 1))
	x := func(t time.Time) float64 {
		return padL + float64(t.Sub(from))/float64(to.Sub(from))*plotW
	}
	y := func(v float64) float64 { return padT + plotH - v/total*plotH }
	esc := html.EscapeString
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" class="ferry-burndown" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11" data-total="%d" data-done="%d" data-remaining="%d">`+"\n",
		svgW, svgH, svgW, svgH, b.Total.Apps, b.Done.Apps, b.Remaining.Apps)
	fmt.Fprintf(&s, `<title>%s</title>`+"\n", esc(b.Summary()))
	fmt.Fprintf(&s, `<text x="%d" y="18" font-size="14" font-weight="bold">Remaining apps: %d of %d</text>`+"\n", padL, b.Remaining.Apps, b.Total.Apps)
	// Axes and grid.
	fmt.Fprintf(&s, `<g stroke="#dadce0">`)
	for i := 0; i <= 4; i++ {
		v := total * float64(i) / 4
		fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, padL+plotW, y(v), y(v))
	}
	s.WriteString("</g>\n")
	for i := 0; i <= 4; i++ {
		v := total * float64(i) / 4
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" text-anchor="end" fill="#5f6368">%.0f</text>`, padL-6, y(v)+4, v)
	}
	fmt.Fprintf(&s, `<text x="%d" y="%d" fill="#5f6368">%s</text><text x="%d" y="%d" text-anchor="end" fill="#5f6368">%s</text>`+"\n",
		padL, svgH-padB+16, day(from), padL+plotW, svgH-padB+16, day(to))
	// Ideal line: from all remaining at the start to none at the target.
	if !b.Target.IsZero() && b.Target.After(from) {
		fmt.Fprintf(&s, `<line class="ideal" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="2 3"/>`+"\n",
			x(from), y(total), x(b.Target), y(0), colIdeal)
	}
	f := b.Forecast
	if f.Early != nil && b.Remaining.Apps > 0 {
		late := to
		if f.Late != nil {
			late = *f.Late
		}
		r := float64(b.Remaining.Apps)
		fmt.Fprintf(&s, `<polygon class="band" points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" opacity="0.7"/>`+"\n",
			x(b.Now), y(r), x(*f.Early), y(0), x(late), y(0), colBand)
	}
	if f.Finish != nil && b.Remaining.Apps > 0 {
		fmt.Fprintf(&s, `<line class="forecast" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/>`+"\n",
			x(b.Now), y(float64(b.Remaining.Apps)), x(*f.Finish), y(0), colForecast)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">forecast %s</text>`+"\n", x(*f.Finish), y(0)+28, colForecast, day(*f.Finish))
	}
	// Actual step curve.
	var pts []string
	prev := b.Series[0]
	for _, p := range b.Series {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.At), y(float64(prev.Remaining.Apps))))
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.At), y(float64(p.Remaining.Apps))))
		prev = p
	}
	fmt.Fprintf(&s, `<polyline class="actual" points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", strings.Join(pts, " "), colActual)
	if !b.Target.IsZero() && !b.Target.Before(from) {
		fmt.Fprintf(&s, `<line class="target" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="1.5"/><text x="%.1f" y="%d" text-anchor="end" fill="%s">target %s</text>`+"\n",
			x(b.Target), x(b.Target), padT, padT+plotH, colTg, x(b.Target), padT-4, colTg, day(b.Target))
	}
	fmt.Fprintf(&s, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#5f6368" stroke-dasharray="1 2"/><text x="%.1f" y="%d" text-anchor="middle" fill="#5f6368">now</text>`+"\n",
		x(b.Now), x(b.Now), padT, padT+plotH, x(b.Now), svgH-padB+30)
	s.WriteString("</svg>\n")
	_, err := io.WriteString(w, s.String())
	return err
}
