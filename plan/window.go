package plan

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // windows name IANA zones; workers may lack /usr/share/zoneinfo
)

// WindowOpen reports whether t falls inside one of the cutover change
// windows. When open, next is when that window closes (the latest end of
// the windows open at t); when closed, next is when the earliest window
// opens after t. No windows means always open, with a zero next. A window
// that cannot open (bad time zone, zero duration, bad start) is ignored;
// Validate reports it. It is pure: the workflow calls it on workflow.Now.
func (c CutoverSpec) WindowOpen(t time.Time) (open bool, next time.Time) {
	if len(c.Windows) == 0 {
		return true, time.Time{}
	}
	for _, w := range c.Windows {
		start, end, ok := w.around(t)
		if !ok {
			continue
		}
		if !t.Before(start) && t.Before(end) {
			if !open || end.After(next) {
				next = end
			}
			open = true
		}
	}
	if open {
		return true, next.UTC()
	}
	for _, w := range c.Windows {
		if s, ok := w.nextStart(t); ok && (next.IsZero() || s.Before(next)) {
			next = s
		}
	}
	if next.IsZero() {
		return false, next
	}
	return false, next.UTC()
}

// Check says why a window can never open, or nil.
func (w Window) Check() error {
	if _, err := time.LoadLocation(w.tz()); err != nil {
		return fmt.Errorf("time zone %q is not an IANA zone name (e.g. Europe/Paris)", w.TimeZone)
	}
	if _, _, err := parseClock(w.Start); err != nil {
		return err
	}
	if w.Duration <= 0 {
		return fmt.Errorf("duration %s is not positive: the window would never open", w.Duration)
	}
	return nil
}

func (w Window) tz() string {
	if w.TimeZone == "" {
		return "UTC"
	}
	return w.TimeZone
}

func (w Window) allows(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// starts returns the window's start on the local calendar day of t shifted
// by off days, if the window runs that day.
func (w Window) start(t time.Time, loc *time.Location, off int) (time.Time, bool) {
	h, m, _ := parseClock(w.Start)
	lt := t.In(loc)
	s := time.Date(lt.Year(), lt.Month(), lt.Day()+off, h, m, 0, 0, loc)
	return s, w.allows(s.Weekday())
}

// around returns the occurrence of the window that contains t, if any.
func (w Window) around(t time.Time) (start, end time.Time, ok bool) {
	if w.Check() != nil {
		return
	}
	loc, _ := time.LoadLocation(w.tz())
	// A window may be longer than a day; look back far enough.
	back := int(w.Duration/(24*time.Hour)) + 1
	for off := -back; off <= 0; off++ {
		s, runs := w.start(t, loc, off)
		if runs && !t.Before(s) && t.Before(s.Add(w.Duration)) {
			return s, s.Add(w.Duration), true
		}
	}
	return
}

func (w Window) nextStart(t time.Time) (time.Time, bool) {
	if w.Check() != nil {
		return time.Time{}, false
	}
	loc, _ := time.LoadLocation(w.tz())
	for off := 0; off <= 8; off++ {
		if s, runs := w.start(t, loc, off); runs && s.After(t) {
			return s, true
		}
	}
	return time.Time{}, false
}

func parseClock(s string) (h, m int, err error) {
	t, perr := time.Parse("15:04", strings.TrimSpace(s))
	if perr != nil {
		return 0, 0, fmt.Errorf("start %q is not a 24-hour HH:MM time (e.g. 22:00)", s)
	}
	return t.Hour(), t.Minute(), nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseWeekday accepts mon, Monday, MON.
func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdays[s[:3]]
	if ok && len(s) > 3 && !strings.HasPrefix(strings.ToLower(d.String()), s) {
		return 0, false
	}
	return d, ok
}
