package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Spec describes a calendar in the shape platform teams write it in an
// SLAPolicy (spec.calendar); the Kubernetes API type is converted to it.
type Spec struct {
	// TimeZone is an IANA zone name such as "Asia/Shanghai"; "" means UTC.
	TimeZone string
	// WorkingHours lists the weekly working hours. Several entries may name
	// the same day as long as their hours do not overlap: a lunch break is
	// two entries, and so is an overnight shift (22:00-24:00, 00:00-06:00).
	WorkingHours []WorkingHours
	// Holidays are closed although their weekday works.
	Holidays []Holiday
	// ExtraWorkingDays ("2026-09-27") work although their weekday does not
	// or they fall in a holiday. They work the regular day's hours: the
	// schedule most days of the week share (Monday first on a tie, then
	// Tuesday...), so a Monday-to-Friday 09:00-18:00 calendar works
	// 09:00-18:00 on them even if it also opens Saturdays 10:00-14:00.
	ExtraWorkingDays []string
}

// WorkingHours is one weekly working interval.
type WorkingHours struct {
	// Days are Mon..Sun or Monday..Sunday, in any case.
	Days []string
	// Start and End are local wall-clock times, "HH:MM"; End may be
	// "24:00" and must be after Start.
	Start, End string
}

// Holiday is a closed range of dates in the calendar's zone.
type Holiday struct {
	Name string
	// From and To are inclusive dates, "YYYY-MM-DD"; an empty To is From,
	// a one-day holiday.
	From, To string
}

// maxHolidayDays bounds one holiday range: a longer one is nearly always a
// mistyped year (2026-10-01..2027-10-08), and the rare long closure can be
// written as several touching ranges.
const maxHolidayDays = 366

// FieldError is one problem [New] found in a Spec. Path is relative to the
// Spec, in the YAML's field names ("workingHours[1].start"), so that a
// caller validating a whole SLAPolicy can prefix it ("spec.calendar.").
type FieldError struct {
	Path   string
	Detail string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Detail }

// New validates spec and returns its calendar. It reports every problem at
// once: the error joins one *FieldError per problem.
func New(spec Spec) (*Calendar, error) {
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Detail: fmt.Sprintf(format, args...)})
	}
	c := &Calendar{business: true}

	loc, err := Location(spec.TimeZone)
	if err != nil {
		fail("timeZone", "%v", err)
	}
	c.loc = loc

	c.week = workingHours(spec.WorkingHours, fail)
	c.extraHours = regularDay(c.week)

	holidays := holidays(spec.Holidays, fail)
	c.extraDays = extraWorkingDays(spec.ExtraWorkingDays, fail)

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.closed = closedRuns(holidays, c.extraDays)
	return c, nil
}

// Location returns the IANA time zone called name, "" being UTC. It
// refuses "Local": time.LoadLocation would give the host's zone, which
// differs between a laptop and a pod. Calendars and tenants' time zones
// are checked by this one rule.
func Location(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`"Local" is the host's zone; name an IANA time zone such as "Asia/Shanghai" or "UTC"`)
	}
	loc, err := loadLocation(name)
	if err != nil {
		return nil, fmt.Errorf(`%q is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`, name)
	}
	return loc, nil
}

// locations caches the zones loadLocation loaded, by name.
var locations sync.Map // string -> *time.Location

// loadLocation is time.LoadLocation, which reads and parses the zone's
// file on every call, with the zones it loaded kept: an SLA workflow
// builds its calendar anew on each of its tasks. Names that fail are not
// kept, so the cache holds valid IANA names only.
func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

type failFunc func(path, format string, args ...any)

// workingHours validates the entries and returns each weekday's spans,
// sorted and with touching spans merged.
func workingHours(entries []WorkingHours, fail failFunc) [7][]span {
	type entry struct {
		days [7]bool
		span span
	}
	if len(entries) == 0 {
		fail("workingHours", "empty; a calendar needs working time (a round-the-clock target has businessHours: false)")
	}
	valid := make(map[int]entry, len(entries)) // index -> entry, valid entries only
	for i, wh := range entries {
		path := fmt.Sprintf("workingHours[%d]", i)
		var e entry
		ok := true
		if len(wh.Days) == 0 {
			fail(path+".days", "empty; name at least one of Mon, Tue, Wed, Thu, Fri, Sat, Sun")
			ok = false
		}
		first := map[time.Weekday]int{}
		for j, name := range wh.Days {
			d, known := weekdays[strings.ToLower(name)]
			switch {
			case !known:
				fail(fmt.Sprintf("%s.days[%d]", path, j), "%q is not a day (Mon..Sun or Monday..Sunday, any case)", name)
				ok = false
			case e.days[d]:
				fail(fmt.Sprintf("%s.days[%d]", path, j), "%s repeats days[%d]", dayNames[d], first[d])
				ok = false
			default:
				e.days[d], first[d] = true, j
			}
		}
		start, okStart := parseClock(wh.Start, false)
		if !okStart {
			fail(path+".start", "%q is not HH:MM (00:00..23:59)", wh.Start)
		}
		end, okEnd := parseClock(wh.End, true)
		if !okEnd {
			fail(path+".end", "%q is not HH:MM (00:00..24:00)", wh.End)
		}
		if okStart && okEnd && end <= start {
			hint := ""
			if end < start {
				hint = "; an overnight shift is two entries (e.g. 22:00-24:00 and 00:00-06:00)"
			}
			fail(path, "end %s is not after start %s%s", clock(end), clock(start), hint)
			okEnd = false
		}
		if ok && okStart && okEnd {
			e.span = span{start, end}
			valid[i] = e
		}
	}

	var week [7][]span
	for i := range entries {
		e, ok := valid[i]
		if !ok {
			continue
		}
		// Report an overlap once per pair of entries, on its first day.
	earlier:
		for j := range i {
			other, ok := valid[j]
			if !ok {
				continue
			}
			for _, d := range weekOrder {
				if e.days[d] && other.days[d] && e.span.start < other.span.end && other.span.start < e.span.end {
					fail(fmt.Sprintf("workingHours[%d]", i), "%s %s overlaps workingHours[%d] (%s %s)",
						dayNames[d], e.span, j, dayNames[d], other.span)
					continue earlier
				}
			}
		}
		for d := range week {
			if e.days[d] {
				week[d] = append(week[d], e.span)
			}
		}
	}
	for d, spans := range week {
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
		// Touching spans (09:00-12:00, 12:00-18:00) are one opening.
		merged := spans[:0]
		for _, s := range spans {
			if n := len(merged); n > 0 && merged[n-1].end >= s.start {
				merged[n-1].end = max(merged[n-1].end, s.end)
				continue
			}
			merged = append(merged, s)
		}
		week[d] = merged
	}
	return week
}

// regularDay returns the hours an extra working day works: the schedule most
// days of the week share, Monday first on a tie. A make-up day stands in for
// an ordinary working day, so it gets that day's hours, lunch break included.
func regularDay(week [7][]span) []span {
	var best []span
	bestCount := 0
	for _, d := range weekOrder {
		if len(week[d]) == 0 {
			continue
		}
		count := 0
		for _, other := range week {
			if slices.Equal(week[d], other) {
				count++
			}
		}
		if count > bestCount {
			best, bestCount = week[d], count
		}
	}
	return best
}

func holidays(hs []Holiday, fail failFunc) []dateRange {
	valid := make([]dateRange, len(hs))
	ok := make([]bool, len(hs))
	for i, h := range hs {
		path := fmt.Sprintf("holidays[%d]", i)
		from, okFrom := parseDate(h.From)
		switch {
		case h.From == "":
			fail(path+".from", "required, a date YYYY-MM-DD")
		case !okFrom:
			fail(path+".from", "%q is not a date (YYYY-MM-DD)", h.From)
		}
		to, okTo := from, okFrom
		if h.To != "" {
			if to, okTo = parseDate(h.To); !okTo {
				fail(path+".to", "%q is not a date (YYYY-MM-DD)", h.To)
			}
		}
		if !okFrom || !okTo {
			continue
		}
		r := dateRange{from, to}
		switch days := int64(to-from) + 1; {
		case to < from:
			fail(path+".to", "%s is before from %s", to, from)
		case days > maxHolidayDays:
			fail(path, "%s spans %d days, more than %d (a mistyped year?); write a longer closure as several ranges", r, days, maxHolidayDays)
		default:
			valid[i], ok[i] = r, true
		}
	}
	var out []dateRange
	for i, r := range valid {
		if !ok[i] {
			continue
		}
		for j := range i {
			if other := valid[j]; ok[j] && r.from <= other.to && other.from <= r.to {
				name := hs[j].Name
				if name != "" {
					name += " "
				}
				fail(fmt.Sprintf("holidays[%d]", i), "%s overlaps holidays[%d] (%s%s)", r, j, name, other)
			}
		}
		out = append(out, r)
	}
	return out
}

func extraWorkingDays(days []string, fail failFunc) []date {
	out := make([]date, 0, len(days))
	first := map[date]int{}
	for i, s := range days {
		path := fmt.Sprintf("extraWorkingDays[%d]", i)
		d, ok := parseDate(s)
		if !ok {
			fail(path, "%q is not a date (YYYY-MM-DD)", s)
			continue
		}
		if j, dup := first[d]; dup {
			fail(path, "%s repeats extraWorkingDays[%d]", d, j)
			continue
		}
		first[d] = i
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// closedRuns merges touching holidays and cuts the extra working days out
// of them. hs must not overlap.
func closedRuns(hs []dateRange, extra []date) []dateRange {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b dateRange) int { return cmp.Compare(a.from, b.from) })
	var merged []dateRange
	for _, r := range hs {
		if n := len(merged); n > 0 && merged[n-1].to+1 >= r.from {
			merged[n-1].to = max(merged[n-1].to, r.to)
			continue
		}
		merged = append(merged, r)
	}
	var out []dateRange
	for _, r := range merged {
		i, _ := slices.BinarySearch(extra, r.from)
		for ; i < len(extra) && extra[i] <= r.to; i++ {
			if extra[i] > r.from {
				out = append(out, dateRange{r.from, extra[i] - 1})
			}
			r.from = extra[i] + 1
		}
		if r.from <= r.to {
			out = append(out, r)
		}
	}
	return out
}

var (
	weekdays = map[string]time.Weekday{
		"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
		"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	}
	dayNames  = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	weekOrder = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
)

// parseClock parses "HH:MM" into minutes after midnight; "24:00" only as an
// end.
func parseClock(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digits := [4]int{}
	for i, j := range [4]int{0, 1, 3, 4} {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
		digits[i] = int(s[j] - '0')
	}
	h, m := digits[0]*10+digits[1], digits[2]*10+digits[3]
	if m > 59 || h > 24 || h == 24 && (m != 0 || !end) {
		return 0, false
	}
	return h*60 + m, true
}

// parseDate parses "YYYY-MM-DD", rejecting dates that do not exist.
func parseDate(s string) (date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return date(t.Unix() / secondsPerDay), true
}
