package tracking

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

// Week is the unit of velocity.
const Week = 7 * 24 * time.Hour

// Amounts is a count of apps and of their size.
type Amounts struct {
	Apps   int   `json:"apps"`
	VMs    int   `json:"vms"`
	VCPU   int   `json:"vcpu"`
	DiskGB int64 `json:"diskGB"`
}

// TB is the disk size in terabytes (10^12 bytes).
func (a Amounts) TB() float64 { return float64(a.DiskGB) / 1000 }

func (a *Amounts) add(r Row, sign int) {
	a.Apps += sign
	a.VMs += sign * r.VMs
	a.VCPU += sign * r.VCPU
	a.DiskGB += int64(sign) * r.DiskGB
}

// Point is what remains at a moment.
type Point struct {
	At        time.Time `json:"at"`
	Remaining Amounts   `json:"remaining"`
	App       string    `json:"app,omitempty"` // the app whose completion made this point
}

// Forecast is when the last app is expected to be done.
type Forecast struct {
	// VelocityPerWeek is apps done per week over the observation window
	// (at least one week long).
	VelocityPerWeek float64 `json:"velocityPerWeek"`
	// RequiredPerWeek is the velocity that would finish by the target.
	RequiredPerWeek float64 `json:"requiredPerWeek,omitempty"`
	// Finish is now + remaining / velocity; nil without any completion.
	Finish *time.Time `json:"finish,omitempty"`
	// Early and Late bound the 80 % confidence band (10th and 90th
	// percentiles); Late is nil when the slow end never finishes.
	Early *time.Time `json:"early,omitempty"`
	Late  *time.Time `json:"late,omitempty"`
	// OnTrack is Finish <= Target; nil without a target or a forecast.
	OnTrack *bool `json:"onTrack,omitempty"`
	// Method says how the band was computed.
	Method string `json:"method"`
	// Weekly are completions per full week, oldest first.
	Weekly []int `json:"weekly"`
}

// Burndown is the migration's progress against the plan.
type Burndown struct {
	Now       time.Time `json:"now"`
	Start     time.Time `json:"start"`           // first migration start (now if none)
	Target    time.Time `json:"target,omitzero"` // plan target_date
	Total     Amounts   `json:"total"`           // the plan's totals
	Done      Amounts   `json:"done"`
	Remaining Amounts   `json:"remaining"`
	Series    []Point   `json:"series"` // remaining after each completion, from Start to Now
	Forecast  Forecast  `json:"forecast"`
}

// Confidence band methods.
const (
	MethodBootstrap = "bootstrap"
	MethodPoisson   = "poisson"
	MethodNone      = "none"
)

// bootstrapWeeks is the history needed before the band is bootstrapped
// from weekly velocity rather than from a Poisson rate.
const bootstrapWeeks = 4

// Compute builds the burndown of the plan's apps at now from the status
// rows. An app counts as done once its stage is Done, at its FerryDoneAt
// (or the run's close time). The forecast and its band are documented in
// docs/burndown.md.
func Compute(rows []Row, target, now time.Time) Burndown {
	b := Burndown{Now: now, Start: now, Target: target, Forecast: Forecast{Method: MethodNone, Weekly: []int{}}}
	var done []Row
	for _, r := range rows {
		if !r.InPlan {
			continue
		}
		b.Total.add(r, 1)
		if !r.StartedAt.IsZero() && r.StartedAt.Before(b.Start) {
			b.Start = r.StartedAt
		}
		if r.Done() {
			done = append(done, r)
		}
	}
	slices.SortFunc(done, func(a, c Row) int { return a.DoneAt.Compare(c.DoneAt) })
	for _, r := range done {
		if r.DoneAt.Before(b.Start) {
			b.Start = r.DoneAt
		}
	}
	rem := b.Total
	b.Series = []Point{{At: b.Start, Remaining: rem}}
	for _, r := range done {
		rem.add(r, -1)
		b.Done.add(r, 1)
		b.Series = append(b.Series, Point{At: r.DoneAt, Remaining: rem, App: r.App})
	}
	b.Remaining = rem
	b.Series = append(b.Series, Point{At: now, Remaining: rem})
	b.Forecast = forecast(b, done)
	return b
}

func forecast(b Burndown, done []Row) Forecast {
	f := Forecast{Method: MethodNone, Weekly: []int{}}
	window := b.Now.Sub(b.Start)
	weeks := math.Max(window.Hours()/Week.Hours(), 1)
	n := len(done)
	f.VelocityPerWeek = float64(n) / weeks
	R := b.Remaining.Apps
	if !b.Target.IsZero() && b.Target.After(b.Now) && R > 0 {
		f.RequiredPerWeek = float64(R) / (b.Target.Sub(b.Now).Hours() / Week.Hours())
	}
	full := int(window / Week)
	for i := 0; i < full; i++ {
		lo, hi := b.Start.Add(time.Duration(i)*Week), b.Start.Add(time.Duration(i+1)*Week)
		c := 0
		for _, r := range done {
			if !r.DoneAt.Before(lo) && r.DoneAt.Before(hi) {
				c++
			}
		}
		f.Weekly = append(f.Weekly, c)
	}
	if R == 0 {
		if n > 0 {
			t := done[n-1].DoneAt
			f.Finish, f.Early, f.Late = &t, &t, &t
		}
		f.OnTrack = onTrack(f.Finish, b.Target)
		return f
	}
	if n == 0 {
		return f
	}
	at := func(w float64) *time.Time {
		if math.IsInf(w, 1) || w > 52*50 {
			return nil
		}
		t := b.Now.Add(time.Duration(w * float64(Week)))
		return &t
	}
	f.Finish = at(float64(R) / f.VelocityPerWeek)
	f.OnTrack = onTrack(f.Finish, b.Target)
	if len(f.Weekly) >= bootstrapWeeks {
		f.Method = MethodBootstrap
		early, late := bootstrap(f.Weekly, R)
		f.Early, f.Late = at(early), at(late)
		return f
	}
	// Too little history for a weekly spread: treat completions as a
	// Poisson process; the rate's 80 % interval is n ± 1.2816·√n over the
	// window (normal approximation).
	f.Method = MethodPoisson
	z := 1.2816 * math.Sqrt(float64(n))
	hiRate := (float64(n) + z) / weeks
	loRate := (float64(n) - z) / weeks
	f.Early = at(float64(R) / hiRate)
	if loRate > 0 {
		f.Late = at(float64(R) / loRate)
	}
	return f
}

func onTrack(finish *time.Time, target time.Time) *bool {
	if finish == nil || target.IsZero() {
		return nil
	}
	ok := !finish.After(target)
	return &ok
}

// bootstrap resamples weekly completion counts with replacement until the
// remaining apps are done, 2000 times, and returns the 10th and 90th
// percentiles of the weeks needed (+Inf when most samples never finish).
// The generator is seeded, so the same history gives the same band.
func bootstrap(weekly []int, remaining int) (p10, p90 float64) {
	const runs, maxWeeks = 2000, 52 * 50
	rng := rand.New(rand.NewPCG(uint64(remaining), uint64(len(weekly))))
	res := make([]float64, runs)
	for i := range res {
		left, w := float64(remaining), 0.0
		for left > 0 && w < maxWeeks {
			c := float64(weekly[rng.IntN(len(weekly))])
			if c >= left {
				w += left / c
				left = 0
				break
			}
			left -= c
			w++
		}
		if left > 0 {
			w = math.Inf(1)
		}
		res[i] = w
	}
	slices.Sort(res)
	return res[runs/10], res[runs*9/10]
}

// PlanTotals are the plan's totals (what Compute counts as Total).
func PlanTotals(specs []plan.AppSpec) Amounts {
	var a Amounts
	for _, s := range specs {
		vms, cpu, disk := Size(s)
		a.Apps++
		a.VMs += vms
		a.VCPU += cpu
		a.DiskGB += disk
	}
	return a
}

// Summary is one line for people: remaining, velocity and forecast.
func (b Burndown) Summary() string {
	s := fmt.Sprintf("%d of %d apps remaining (%d VMs, %d vCPU, %.1f TB); velocity %.1f apps/week",
		b.Remaining.Apps, b.Total.Apps, b.Remaining.VMs, b.Remaining.VCPU, b.Remaining.TB(), b.Forecast.VelocityPerWeek)
	f := b.Forecast
	switch {
	case b.Remaining.Apps == 0:
		s += "; all apps done"
	case f.Finish == nil:
		s += "; no forecast yet (no app done)"
	default:
		s += "; forecast " + day(*f.Finish)
		if f.Early != nil {
			s += " (80 % band " + day(*f.Early) + " – "
			if f.Late != nil {
				s += day(*f.Late) + ")"
			} else {
				s += "never at the slowest observed pace)"
			}
		}
	}
	if !b.Target.IsZero() {
		s += "; target " + day(b.Target)
		if f.OnTrack != nil {
			if *f.OnTrack {
				s += ", on track"
			} else {
				s += fmt.Sprintf(", LATE: needs %.1f apps/week", f.RequiredPerWeek)
			}
		}
	}
	return s
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
