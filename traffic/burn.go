package traffic

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

// Error-budget burn rates, Google SRE workbook style (chapter "Alerting on
// SLOs"): the burn rate over a window is the error ratio seen in it
// divided by the ratio the objective allows (1 - objective); a rule pages
// when the budget burns faster than its factor over both its long window
// (significant spend) and its short one (still burning now).

// BurnRate is the error-budget burn rate of an error ratio under an
// objective: 1 spends the budget exactly over the SLO period.
func BurnRate(errorRatio, objective float64) float64 {
	budget := 1 - objective
	if budget <= 0 || math.IsNaN(errorRatio) {
		return math.Inf(1)
	}
	return errorRatio / budget
}

// BurnSample is one rule's evaluation.
type BurnSample struct {
	Long      time.Duration `json:"long"`
	Short     time.Duration `json:"short"`
	Factor    float64       `json:"factor"`
	LongBurn  float64       `json:"longBurn"`
	ShortBurn float64       `json:"shortBurn"`
	Breach    bool          `json:"breach"`
}

// RatioFunc returns the error ratio over the window ending now; ok false
// means no traffic in it (no say).
type RatioFunc func(ctx context.Context, window time.Duration) (ratio float64, ok bool, err error)

// EvaluateBurn applies every rule: a rule breaches when the burn rate over
// both of its windows exceeds its factor. Windows are read once each even
// when rules share them.
func EvaluateBurn(ctx context.Context, rules []plan.BurnRate, objective float64, ratio RatioFunc) ([]BurnSample, error) {
	type r struct {
		v  float64
		ok bool
	}
	seen := map[time.Duration]r{}
	get := func(w time.Duration) (r, error) {
		if x, ok := seen[w]; ok {
			return x, nil
		}
		v, ok, err := ratio(ctx, w)
		if err != nil {
			return r{}, err
		}
		seen[w] = r{v, ok}
		return seen[w], nil
	}
	var out []BurnSample
	for _, rule := range rules {
		l, err := get(rule.Long)
		if err != nil {
			return nil, err
		}
		s, err := get(rule.Short)
		if err != nil {
			return nil, err
		}
		b := BurnSample{Long: rule.Long, Short: rule.Short, Factor: rule.Factor}
		if l.ok {
			b.LongBurn = BurnRate(l.v, objective)
		}
		if s.ok {
			b.ShortBurn = BurnRate(s.v, objective)
		}
		b.Breach = l.ok && s.ok && b.LongBurn > rule.Factor && b.ShortBurn > rule.Factor
		out = append(out, b)
	}
	return out, nil
}

// PromDuration spells a window as a Prometheus range ("5m", "1h", "90s").
func PromDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
}

// PromRatio is the RatioFunc of a plan's Prometheus queries: the error
// ratio query, or errors/total, or 1 - good/total, with $window replaced.
// A total of zero (no traffic) has no say.
func PromRatio(p *Prometheus, q *plan.PrometheusBurnSLO) RatioFunc {
	return func(ctx context.Context, w time.Duration) (float64, bool, error) {
		sub := func(s string) string { return strings.ReplaceAll(s, "$window", PromDuration(w)) }
		if q.ErrorRatio != "" {
			v, err := p.Query(ctx, sub(q.ErrorRatio))
			if err != nil {
				return 0, false, err
			}
			if math.IsNaN(v) { // 0/0: no requests in the window
				return 0, false, nil
			}
			return v, true, nil
		}
		total, err := p.Query(ctx, sub(q.Total))
		if err != nil {
			return 0, false, err
		}
		if total <= 0 || math.IsNaN(total) {
			return 0, false, nil
		}
		if q.Errors != "" {
			e, err := p.Query(ctx, sub(q.Errors))
			if err != nil {
				return 0, false, err
			}
			return clamp01(e / total), true, nil
		}
		g, err := p.Query(ctx, sub(q.Good))
		if err != nil {
			return 0, false, err
		}
		return clamp01(1 - g/total), true, nil
	}
}

func clamp01(v float64) float64 { return math.Min(1, math.Max(0, v)) }

// burnReason says which rules breached, for a person.
func burnReason(samples []BurnSample, objective float64) string {
	var parts []string
	for _, b := range samples {
		if b.Breach {
			parts = append(parts, fmt.Sprintf("error budget of %.4g%% burning %.1fx over %s and %.1fx over %s (rule: > %gx on both)",
				objective*100, b.LongBurn, PromDuration(b.Long), b.ShortBurn, PromDuration(b.Short), b.Factor))
		}
	}
	return strings.Join(parts, "; ")
}
