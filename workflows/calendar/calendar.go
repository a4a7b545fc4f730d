// Package calendar counts business time for SLA clocks.
//
// A Calendar is an IANA time zone, weekly working hours, holidays and extra
// working days (such as the weekend days China's holiday schedule turns into
// working days). Instants are absolute; working hours are wall-clock times in
// the zone, turned into instants day by day with the zone's real offsets, so
// a 09:00-18:00 day is nine hours unless a daylight-saving jump falls inside
// it, and then it is as long as the clocks say. Business time is the absolute
// time spent inside working hours: [Calendar.Add] finds when a target is due,
// [Calendar.Between] measures what has elapsed, and the two are inverses.
//
// A target that runs on wall-clock time (businessHours: false) uses
// [AlwaysOpen]; the zero Calendar is the same.
//
// A *Calendar never changes after [New] returns it, so one value may be shared
// by any number of goroutines and workflows. Its results depend only on its
// arguments and the zone data; since a newer tz release can move a zone's
// rules, a workflow should keep the due instants it computed in its history
// rather than count on recomputing them identically on replay.
package calendar

import (
	"fmt"
	"slices"
	"sort"
	"time"

	// The zone data is compiled in (about 450 KB) so that due times do not
	// depend on what the host or image ships: Go uses it only when neither
	// $ZONEINFO nor the system has the zone, so an up-to-date host still wins.
	_ "time/tzdata"
)

// Calendar is a business-hours calendar. Build one with [New]; the zero
// Calendar (and a nil *Calendar) is open around the clock in UTC.
type Calendar struct {
	// business is false for the zero Calendar: open around the clock.
	business bool
	loc      *time.Location
	// week holds each weekday's working spans (indexed by time.Weekday),
	// sorted, with touching spans merged.
	week [7][]span
	// extraHours are the spans an extra working day works.
	extraHours []span
	// extraDays is sorted; an extra working day wins over a holiday.
	extraDays []date
	// closed holds the holidays, sorted, merged when they touch, and with
	// the extra working days cut out, so that a walk skips a run of
	// holidays in one step however long it is.
	closed []dateRange
}

// AlwaysOpen is open around the clock, with results in UTC: the calendar of a
// target whose businessHours is false. The zero Calendar behaves the same.
var AlwaysOpen = &Calendar{}

// Always returns a calendar that is open around the clock and reports its
// results in loc (UTC if loc is nil), for a 24x7 target whose due times
// should read in the policy's zone.
func Always(loc *time.Location) *Calendar {
	return &Calendar{loc: loc}
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location {
	if c == nil || c.loc == nil {
		return time.UTC
	}
	return c.loc
}

func (c *Calendar) alwaysOpen() bool { return c == nil || !c.business }

// Add returns the instant at which d of business time has elapsed counting
// from start: the earliest t with Between(start, t) == d. If start is outside
// working hours the count begins at the next opening, and a d that ends
// exactly at a closing returns that closing, not the next opening.
//
// A d <= 0 returns start itself: nothing is left to count, so a target that
// is already used up (say after a priority change) is due now, and
// Between(start, Add(start, d)) == 0 keeps Add and Between inverse. Negative
// durations do not count backwards.
//
// The result is in the calendar's time zone and carries no monotonic clock
// reading.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	loc := c.Location()
	start = start.In(loc)
	if d <= 0 {
		return start
	}
	if c.alwaysOpen() {
		return start.Add(d)
	}
	w := c.walk(start)
	for {
		a, b := w.next()
		if !b.After(start) {
			continue
		}
		if a.Before(start) {
			a = start
		}
		if open := b.Sub(a); d > open {
			d -= open
			continue
		}
		return a.Add(d).In(loc)
	}
}

// Between returns the business time elapsed in [from, to), 0 if to is not
// after from.
func (c *Calendar) Between(from, to time.Time) time.Duration {
	// Wall clock only: a monotonic reading would make the result depend
	// on the process that took the times.
	from, to = from.Round(0), to.Round(0)
	if !to.After(from) {
		return 0
	}
	if c.alwaysOpen() {
		return to.Sub(from)
	}
	var sum time.Duration
	w := c.walk(from)
	for {
		a, b := w.next()
		if !a.Before(to) {
			return sum
		}
		if !b.After(from) {
			continue
		}
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		sum += b.Sub(a)
	}
}

// IsOpen reports whether t is within working hours. Working hours include
// their opening instant and exclude their closing one.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.alwaysOpen() {
		return true
	}
	w := c.walk(t)
	for {
		a, b := w.next()
		if b.After(t) {
			return !a.After(t)
		}
	}
}

// NextOpen returns t if the calendar is open at t, and the next opening
// otherwise, in the calendar's time zone.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	t = t.In(c.Location())
	if c.alwaysOpen() {
		return t
	}
	w := c.walk(t)
	for {
		a, b := w.next()
		if b.After(t) {
			if a.After(t) {
				return a
			}
			return t
		}
	}
}

// span is a working interval of one day in minutes after local midnight,
// start < end <= 1440 (an end of 1440 is 24:00).
type span struct{ start, end int }

func (s span) String() string { return clock(s.start) + "-" + clock(s.end) }

func clock(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

// date is a civil date as days since 1970-01-01; its weekday and the
// instants of its wall-clock times come from the calendar's zone.
type date int64

const secondsPerDay = 24 * 60 * 60

func (d date) weekday() time.Weekday {
	// 1970-01-01 was a Thursday.
	return time.Weekday(((int64(d)+int64(time.Thursday))%7 + 7) % 7)
}

func (d date) ymd() (int, time.Month, int) {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
}

func (d date) String() string {
	y, m, day := d.ymd()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, day)
}

type dateRange struct{ from, to date } // inclusive

func (r dateRange) String() string { return r.from.String() + ".." + r.to.String() }

// wall returns t's wall-clock time in its own zone as seconds since
// 1970-01-01 00:00 of that wall clock.
func wall(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// dateOf returns the civil date of t in the calendar's zone.
func (c *Calendar) dateOf(t time.Time) date {
	w := wall(t.In(c.loc))
	if w < 0 {
		return date((w - secondsPerDay + 1) / secondsPerDay)
	}
	return date(w / secondsPerDay)
}

// instant returns the instant at which the zone's clocks reach minute of
// day d. The mapping is monotonic, so working spans never overlap in
// absolute time: a wall time that a spring-forward jump skips maps to the
// jump itself (the clocks reach 02:30 when they jump from 02:00 to 03:00),
// and one that a fall-back repeats maps to its first occurrence. Go's
// time.Date leaves both choices unspecified, hence the corrections.
func (c *Calendar) instant(d date, minute int) time.Time {
	want := int64(d)*secondsPerDay + int64(minute)*60
	y, m, day := d.ymd()
	t := time.Date(y, m, day, 0, minute, 0, 0, c.loc)
	_, off := t.Zone()
	switch got := t.Unix() + int64(off); {
	case got > want: // skipped; t is after the jump, which began t's zone period
		start, _ := t.ZoneBounds()
		return start
	case got < want: // skipped; t is before the jump, which ends t's zone period
		_, end := t.ZoneBounds()
		return end
	}
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		if _, prev := start.Add(-time.Second).Zone(); prev > off {
			// The clocks went back at start; the same wall time may have
			// come first under the previous offset.
			if first := t.Add(-time.Duration(prev-off) * time.Second); first.Before(start) {
				return first
			}
		}
	}
	return t
}

// hours returns the working spans of day d and, when d is in a run of
// holidays, the last day of that run.
func (c *Calendar) hours(d date) (spans []span, holidaysUntil date, holiday bool) {
	if _, ok := slices.BinarySearch(c.extraDays, d); ok {
		return c.extraHours, 0, false
	}
	i := sort.Search(len(c.closed), func(i int) bool { return c.closed[i].to >= d })
	if i < len(c.closed) && c.closed[i].from <= d {
		return nil, c.closed[i].to, true
	}
	return c.week[d.weekday()], 0, false
}

// maxIdleDays bounds a walk through days without working time. New refuses
// a week without working hours and holiday runs are skipped in one step, so
// a walk finds working time within a week or two; running past the bound
// means a bug, and a clear panic beats an endless loop.
const maxIdleDays = 400

// walker yields a calendar's working intervals in order, day by day.
type walker struct {
	c     *Calendar
	day   date
	spans []span
	i     int
	idle  int
	// base is the instant of the day's midnight; fast says the zone's
	// offset does not change during the day, so every span is base plus
	// its minutes and needs no time zone lookup.
	base time.Time
	fast bool
}

// walk returns a walker that starts a day before t's date, so that it also
// yields the intervals that a clock set back across midnight moves after t.
func (c *Calendar) walk(t time.Time) walker {
	w := walker{c: c, day: c.dateOf(t) - 2}
	w.nextDay()
	return w
}

func (w *walker) nextDay() {
	for {
		w.day++
		spans, until, holiday := w.c.hours(w.day)
		switch {
		case holiday:
			w.day = until
		case len(spans) > 0:
			w.spans, w.i = spans, 0
			w.base = w.c.instant(w.day, 0)
			// The offset must hold past the next midnight too: a clock set
			// back at midnight reaches 24:00 an hour after base+24h.
			_, end := w.base.ZoneBounds()
			w.fast = wall(w.base) == int64(w.day)*secondsPerDay &&
				(end.IsZero() || end.After(w.base.Add(24*time.Hour)))
			return
		}
		if w.idle++; w.idle > maxIdleDays {
			panic(fmt.Sprintf("calendar: no working time in the %d days before %s; New should have refused this calendar", maxIdleDays, w.day))
		}
	}
}

func (w *walker) at(minute int) time.Time {
	if w.fast {
		return w.base.Add(time.Duration(minute) * time.Minute)
	}
	return w.c.instant(w.day, minute)
}

// next returns the next working interval [a, b), a before b.
func (w *walker) next() (a, b time.Time) {
	for {
		for w.i < len(w.spans) {
			s := w.spans[w.i]
			w.i++
			// A span inside a spring-forward jump has no length that day.
			if a, b = w.at(s.start), w.at(s.end); a.Before(b) {
				w.idle = 0
				return a, b
			}
		}
		w.idle++
		w.nextDay()
	}
}
