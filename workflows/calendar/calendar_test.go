package calendar

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var (
	weekdaysOnly = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}
	everyDay     = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	nineToSix    = []WorkingHours{{Days: weekdaysOnly, Start: "09:00", End: "18:00"}}
)

// The calendars the tests share, by name.
var specs = map[string]Spec{
	// The issue's example: National Day closes 2026-10-01..08, and the
	// Sundays 2026-09-27 and 2026-10-11 work instead.
	"shanghai": {
		TimeZone:         "Asia/Shanghai",
		WorkingHours:     nineToSix,
		Holidays:         []Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-08"}},
		ExtraWorkingDays: []string{"2026-09-27", "2026-10-11"},
	},
	// Make-up Saturdays around a Spring Festival holiday.
	"spring": {
		TimeZone:         "Asia/Shanghai",
		WorkingHours:     nineToSix,
		Holidays:         []Holiday{{Name: "春节", From: "2026-02-15", To: "2026-02-23"}},
		ExtraWorkingDays: []string{"2026-02-14", "2026-02-28"},
	},
	"lunch": {
		TimeZone: "Asia/Shanghai",
		WorkingHours: []WorkingHours{
			{Days: weekdaysOnly, Start: "09:00", End: "12:00"},
			{Days: weekdaysOnly, Start: "13:00", End: "18:00"},
		},
	},
	// Saturday mornings too; an extra working day works Mon-Fri hours.
	"saturdays": {
		TimeZone: "Asia/Shanghai",
		WorkingHours: []WorkingHours{
			{Days: weekdaysOnly, Start: "09:00", End: "18:00"},
			{Days: []string{"sat"}, Start: "10:00", End: "14:00"},
		},
		ExtraWorkingDays: []string{"2026-03-14"},
	},
	"newYork": {TimeZone: "America/New_York", WorkingHours: nineToSix},
	// Sundays around the clock: 23 h on 2026-03-08, 25 h on 2026-11-01.
	"newYorkSundays": {
		TimeZone:     "America/New_York",
		WorkingHours: []WorkingHours{{Days: []string{"Sunday"}, Start: "00:00", End: "24:00"}},
	},
	// Windows that contain New York's jumps (02:00 both ways).
	"newYorkNights": {
		TimeZone:     "America/New_York",
		WorkingHours: []WorkingHours{{Days: everyDay, Start: "01:00", End: "04:00"}},
	},
	// A window that opens inside the spring-forward gap.
	"newYorkGap": {
		TimeZone:     "America/New_York",
		WorkingHours: []WorkingHours{{Days: everyDay, Start: "02:30", End: "05:00"}},
	},
	"berlin": {TimeZone: "Europe/Berlin", WorkingHours: nineToSix},
	// Berlin jumps at 02:00 (spring) and 03:00 (autumn).
	"berlinNights": {
		TimeZone:     "Europe/Berlin",
		WorkingHours: []WorkingHours{{Days: everyDay, Start: "01:00", End: "04:00"}},
	},
	// An overnight shift, written as two entries.
	"berlinOvernight": {
		TimeZone: "Europe/Berlin",
		WorkingHours: []WorkingHours{
			{Days: everyDay, Start: "22:00", End: "24:00"},
			{Days: everyDay, Start: "00:00", End: "06:00"},
		},
	},
	// Zones whose clocks jump at midnight (Havana skips 2026-03-08 00:00
	// and repeats 2026-11-01 00:00; Santiago repeats the last hour of
	// 2026-04-04 and skips 2026-09-06 00:00) or by half an hour (Lord Howe).
	"havanaAllDay":   {TimeZone: "America/Havana", WorkingHours: []WorkingHours{{Days: everyDay, Start: "00:00", End: "24:00"}}},
	"santiagoAllDay": {TimeZone: "America/Santiago", WorkingHours: []WorkingHours{{Days: everyDay, Start: "00:00", End: "24:00"}}},
	"havanaShifts": {
		TimeZone: "America/Havana",
		WorkingHours: []WorkingHours{
			{Days: everyDay, Start: "20:00", End: "24:00"},
			{Days: everyDay, Start: "00:00", End: "03:00"},
		},
	},
	"santiagoShifts": {
		TimeZone: "America/Santiago",
		WorkingHours: []WorkingHours{
			{Days: everyDay, Start: "20:00", End: "24:00"},
			{Days: everyDay, Start: "00:00", End: "03:00"},
		},
	},
	"lordHoweNights": {TimeZone: "Australia/Lord_Howe", WorkingHours: []WorkingHours{{Days: everyDay, Start: "01:00", End: "03:00"}}},
	// A holiday with one of its days made a working day.
	"holidayException": {
		TimeZone:         "Asia/Shanghai",
		WorkingHours:     nineToSix,
		Holidays:         []Holiday{{From: "2026-10-01", To: "2026-10-08"}},
		ExtraWorkingDays: []string{"2026-10-04"},
	},
}

func calendar(t testing.TB, name string) *Calendar {
	t.Helper()
	if name == "always" {
		return AlwaysOpen
	}
	spec, ok := specs[name]
	if !ok {
		t.Fatalf("no calendar %q", name)
	}
	c, err := New(spec)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	return c
}

// at parses "2006-01-02 15:04 -0700"; the offset keeps times in a repeated
// hour unambiguous.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04 -0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name, cal   string
		start       string
		d           time.Duration
		want        string
		wantBetween time.Duration // when it is not d: d <= 0
	}{
		// Gaps between working hours.
		{name: "overnight gap", cal: "shanghai", start: "2026-03-10 17:30 +0800", d: time.Hour, want: "2026-03-11 09:30 +0800"},
		{name: "weekend gap", cal: "shanghai", start: "2026-03-13 17:00 +0800", d: 2 * time.Hour, want: "2026-03-16 10:00 +0800"},
		{name: "start before opening", cal: "shanghai", start: "2026-03-10 06:00 +0800", d: time.Hour, want: "2026-03-10 10:00 +0800"},
		{name: "start on a Saturday", cal: "shanghai", start: "2026-03-14 12:00 +0800", d: time.Hour, want: "2026-03-16 10:00 +0800"},
		{name: "start exactly at opening", cal: "shanghai", start: "2026-03-10 09:00 +0800", d: time.Hour, want: "2026-03-10 10:00 +0800"},
		{name: "start exactly at closing", cal: "shanghai", start: "2026-03-10 18:00 +0800", d: time.Hour, want: "2026-03-11 10:00 +0800"},
		{name: "due exactly at closing", cal: "shanghai", start: "2026-03-10 09:00 +0800", d: 9 * time.Hour, want: "2026-03-10 18:00 +0800"},
		{name: "one minute past closing", cal: "shanghai", start: "2026-03-10 09:00 +0800", d: 9*time.Hour + time.Minute, want: "2026-03-11 09:01 +0800"},
		{name: "a working week", cal: "shanghai", start: "2026-03-09 09:00 +0800", d: 45 * time.Hour, want: "2026-03-13 18:00 +0800"},
		{name: "30 business days", cal: "shanghai", start: "2026-03-02 09:00 +0800", d: 30 * 9 * time.Hour, want: "2026-04-10 18:00 +0800"},
		{name: "start given in UTC", cal: "shanghai", start: "2026-03-10 09:30 +0000", d: time.Hour, want: "2026-03-11 09:30 +0800"},
		{name: "zero", cal: "shanghai", start: "2026-03-14 12:00 +0800", d: 0, want: "2026-03-14 12:00 +0800"},
		{name: "negative", cal: "shanghai", start: "2026-03-10 12:00 +0800", d: -time.Hour, want: "2026-03-10 12:00 +0800"},

		// 国庆节 and its make-up Sundays.
		{name: "holiday", cal: "shanghai", start: "2026-09-30 17:00 +0800", d: 2 * time.Hour, want: "2026-10-09 10:00 +0800"},
		{name: "start inside holiday", cal: "shanghai", start: "2026-10-03 10:00 +0800", d: time.Hour, want: "2026-10-09 10:00 +0800"},
		{name: "make-up Sunday before holiday", cal: "shanghai", start: "2026-09-25 17:00 +0800", d: 2 * time.Hour, want: "2026-09-27 10:00 +0800"},
		{name: "make-up Sunday after holiday", cal: "shanghai", start: "2026-10-09 17:00 +0800", d: 2 * time.Hour, want: "2026-10-11 10:00 +0800"},
		{name: "five days across holiday", cal: "shanghai", start: "2026-09-28 09:00 +0800", d: 45 * time.Hour, want: "2026-10-11 18:00 +0800"},
		{name: "make-up Saturday", cal: "spring", start: "2026-02-13 17:00 +0800", d: 2 * time.Hour, want: "2026-02-14 10:00 +0800"},
		{name: "make-up Saturday into holiday", cal: "spring", start: "2026-02-14 17:00 +0800", d: 2 * time.Hour, want: "2026-02-24 10:00 +0800"},
		{name: "extra day inside holiday", cal: "holidayException", start: "2026-09-30 17:00 +0800", d: 2 * time.Hour, want: "2026-10-04 10:00 +0800"},
		{name: "extra Saturday works weekday hours", cal: "saturdays", start: "2026-03-13 17:00 +0800", d: 2 * time.Hour, want: "2026-03-14 10:00 +0800"},
		{name: "regular Saturday works its own hours", cal: "saturdays", start: "2026-03-20 17:00 +0800", d: 3 * time.Hour, want: "2026-03-21 12:00 +0800"},

		// Lunch break.
		{name: "across lunch", cal: "lunch", start: "2026-03-10 11:30 +0800", d: time.Hour, want: "2026-03-10 13:30 +0800"},
		{name: "start during lunch", cal: "lunch", start: "2026-03-10 12:30 +0800", d: time.Hour, want: "2026-03-10 14:00 +0800"},
		{name: "due exactly at lunch", cal: "lunch", start: "2026-03-10 09:00 +0800", d: 3 * time.Hour, want: "2026-03-10 12:00 +0800"},

		// Daylight saving: 09:00-18:00 days keep nine hours.
		{name: "New York spring weekend", cal: "newYork", start: "2026-03-06 17:00 -0500", d: 2 * time.Hour, want: "2026-03-09 10:00 -0400"},
		{name: "New York autumn weekend", cal: "newYork", start: "2026-10-30 17:00 -0400", d: 2 * time.Hour, want: "2026-11-02 10:00 -0500"},
		{name: "Berlin spring weekend", cal: "berlin", start: "2026-03-27 17:00 +0100", d: 2 * time.Hour, want: "2026-03-30 10:00 +0200"},
		{name: "Berlin autumn weekend", cal: "berlin", start: "2026-10-23 17:00 +0200", d: 2 * time.Hour, want: "2026-10-26 10:00 +0100"},
		// Windows that contain the jump are as long as the clocks say.
		{name: "New York 23-hour Sunday", cal: "newYorkSundays", start: "2026-03-08 00:00 -0500", d: 23 * time.Hour, want: "2026-03-09 00:00 -0400"},
		{name: "New York spring jump inside", cal: "newYorkSundays", start: "2026-03-08 00:00 -0500", d: 3 * time.Hour, want: "2026-03-08 04:00 -0400"},
		{name: "New York 25-hour Sunday", cal: "newYorkSundays", start: "2026-11-01 00:00 -0400", d: 25 * time.Hour, want: "2026-11-02 00:00 -0500"},
		{name: "New York repeated hour", cal: "newYorkSundays", start: "2026-11-01 00:00 -0400", d: 2 * time.Hour, want: "2026-11-01 01:00 -0500"},
		{name: "New York 01-04 window on spring day", cal: "newYorkNights", start: "2026-03-08 01:00 -0500", d: 2 * time.Hour, want: "2026-03-08 04:00 -0400"},
		{name: "New York 01-04 window spills on spring day", cal: "newYorkNights", start: "2026-03-08 01:00 -0500", d: 2*time.Hour + time.Minute, want: "2026-03-09 01:01 -0400"},
		{name: "New York 01-04 window on autumn day", cal: "newYorkNights", start: "2026-11-01 01:00 -0400", d: 4 * time.Hour, want: "2026-11-01 04:00 -0500"},
		{name: "New York window opening in the gap", cal: "newYorkGap", start: "2026-03-08 00:00 -0500", d: time.Hour, want: "2026-03-08 04:00 -0400"},
		{name: "Berlin overnight shift over spring jump", cal: "berlinOvernight", start: "2026-03-28 22:00 +0100", d: 7 * time.Hour, want: "2026-03-29 06:00 +0200"},
		{name: "Berlin overnight shift over autumn jump", cal: "berlinOvernight", start: "2026-10-24 22:00 +0200", d: 9 * time.Hour, want: "2026-10-25 06:00 +0100"},
		{name: "Berlin 01-04 window on spring day", cal: "berlinNights", start: "2026-03-29 00:00 +0100", d: 2 * time.Hour, want: "2026-03-29 04:00 +0200"},
		{name: "Berlin 01-04 window on autumn day", cal: "berlinNights", start: "2026-10-25 00:00 +0200", d: 4 * time.Hour, want: "2026-10-25 04:00 +0100"},

		// Wall-clock targets.
		{name: "always open", cal: "always", start: "2026-03-14 03:00 +0800", d: 30 * time.Hour, want: "2026-03-15 09:00 +0800"},
		{name: "always open over spring jump", cal: "always", start: "2026-03-08 00:00 -0500", d: 23 * time.Hour, want: "2026-03-09 00:00 -0400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, tt.cal)
			start, want := at(t, tt.start), at(t, tt.want)
			got := c.Add(start, tt.d)
			if !got.Equal(want) {
				t.Errorf("Add(%v, %v) = %v, want %v", start, tt.d, got.In(want.Location()), want)
			}
			if got.Location() != c.Location() {
				t.Errorf("Add returned a time in %v, want the calendar's %v", got.Location(), c.Location())
			}
			wantBetween := max(tt.d, 0)
			if between := c.Between(start, got); between != wantBetween {
				t.Errorf("Between(%v, %v) = %v, want %v", start, got, between, wantBetween)
			}
		})
	}
}

func TestBetween(t *testing.T) {
	tests := []struct {
		name, cal string
		from, to  string
		want      time.Duration
	}{
		{name: "a working day", cal: "shanghai", from: "2026-03-10 00:00 +0800", to: "2026-03-11 00:00 +0800", want: 9 * time.Hour},
		{name: "a week without DST", cal: "shanghai", from: "2026-03-02 09:00 +0800", to: "2026-03-09 09:00 +0800", want: 45 * time.Hour},
		{name: "a week across spring jump", cal: "newYork", from: "2026-03-02 09:00 -0500", to: "2026-03-09 09:00 -0400", want: 45 * time.Hour},
		{name: "weekend", cal: "shanghai", from: "2026-03-13 18:00 +0800", to: "2026-03-16 09:00 +0800", want: 0},
		{name: "inside one window", cal: "shanghai", from: "2026-03-10 10:00 +0800", to: "2026-03-10 10:25 +0800", want: 25 * time.Minute},
		{name: "reversed", cal: "shanghai", from: "2026-03-11 10:00 +0800", to: "2026-03-10 10:00 +0800", want: 0},
		{name: "empty", cal: "shanghai", from: "2026-03-10 10:00 +0800", to: "2026-03-10 10:00 +0800", want: 0},
		{name: "holiday week", cal: "shanghai", from: "2026-10-01 00:00 +0800", to: "2026-10-09 00:00 +0800", want: 0},
		{name: "make-up Sunday", cal: "shanghai", from: "2026-09-27 00:00 +0800", to: "2026-09-28 00:00 +0800", want: 9 * time.Hour},
		{name: "ordinary Sunday", cal: "shanghai", from: "2026-09-20 00:00 +0800", to: "2026-09-21 00:00 +0800", want: 0},
		{name: "September 21 to October 12", cal: "shanghai", from: "2026-09-21 00:00 +0800", to: "2026-10-12 00:00 +0800", want: (5 + 1 + 3 + 1 + 1) * 9 * time.Hour},
		{name: "lunch day", cal: "lunch", from: "2026-03-10 00:00 +0800", to: "2026-03-11 00:00 +0800", want: 8 * time.Hour},
		{name: "extra Saturday", cal: "saturdays", from: "2026-03-14 00:00 +0800", to: "2026-03-15 00:00 +0800", want: 9 * time.Hour},
		{name: "regular Saturday", cal: "saturdays", from: "2026-03-21 00:00 +0800", to: "2026-03-22 00:00 +0800", want: 4 * time.Hour},
		{name: "New York spring Sunday", cal: "newYorkSundays", from: "2026-03-07 00:00 -0500", to: "2026-03-10 00:00 -0400", want: 23 * time.Hour},
		{name: "New York autumn Sunday", cal: "newYorkSundays", from: "2026-10-31 00:00 -0400", to: "2026-11-03 00:00 -0500", want: 25 * time.Hour},
		{name: "New York ordinary Sunday", cal: "newYorkSundays", from: "2026-03-15 00:00 -0400", to: "2026-03-16 00:00 -0400", want: 24 * time.Hour},
		{name: "New York 01-04 on spring day", cal: "newYorkNights", from: "2026-03-08 00:00 -0500", to: "2026-03-09 00:00 -0400", want: 2 * time.Hour},
		{name: "New York 01-04 on autumn day", cal: "newYorkNights", from: "2026-11-01 00:00 -0400", to: "2026-11-02 00:00 -0500", want: 4 * time.Hour},
		{name: "New York repeated hour, second time", cal: "newYorkNights", from: "2026-11-01 01:00 -0500", to: "2026-11-01 02:00 -0500", want: time.Hour},
		{name: "New York 02:30-05:00 on spring day", cal: "newYorkGap", from: "2026-03-08 00:00 -0500", to: "2026-03-09 00:00 -0400", want: 2 * time.Hour},
		{name: "Berlin 01-04 on spring day", cal: "berlinNights", from: "2026-03-29 00:00 +0100", to: "2026-03-30 00:00 +0200", want: 2 * time.Hour},
		{name: "Berlin 01-04 on autumn day", cal: "berlinNights", from: "2026-10-25 00:00 +0200", to: "2026-10-26 00:00 +0100", want: 4 * time.Hour},
		{name: "Berlin overnight shifts around autumn jump", cal: "berlinOvernight", from: "2026-10-24 12:00 +0200", to: "2026-10-25 12:00 +0100", want: 9 * time.Hour},
		{name: "Havana skipped midnight", cal: "havanaAllDay", from: "2026-03-07 00:00 -0500", to: "2026-03-09 00:00 -0400", want: 47 * time.Hour},
		{name: "Havana repeated midnight", cal: "havanaAllDay", from: "2026-10-31 00:00 -0400", to: "2026-11-02 00:00 -0500", want: 49 * time.Hour},
		{name: "Havana evening before skipped midnight", cal: "havanaShifts", from: "2026-03-07 12:00 -0500", to: "2026-03-08 12:00 -0400", want: 4*time.Hour + 2*time.Hour},
		{name: "Havana night with repeated midnight", cal: "havanaShifts", from: "2026-10-31 12:00 -0400", to: "2026-11-01 12:00 -0500", want: 4*time.Hour + 4*time.Hour},
		{name: "Santiago repeated 23:00", cal: "santiagoAllDay", from: "2026-04-04 00:00 -0300", to: "2026-04-06 00:00 -0400", want: 49 * time.Hour},
		{name: "Santiago skipped midnight", cal: "santiagoAllDay", from: "2026-09-05 00:00 -0400", to: "2026-09-07 00:00 -0300", want: 47 * time.Hour},
		{name: "Santiago evening with repeated 23:00", cal: "santiagoShifts", from: "2026-04-04 12:00 -0300", to: "2026-04-05 12:00 -0400", want: 5*time.Hour + 3*time.Hour},
		{name: "Lord Howe half-hour spring jump", cal: "lordHoweNights", from: "2026-10-04 00:00 +1030", to: "2026-10-05 00:00 +1100", want: 90 * time.Minute},
		{name: "Lord Howe half-hour autumn jump", cal: "lordHoweNights", from: "2026-04-05 00:00 +1100", to: "2026-04-06 00:00 +1030", want: 150 * time.Minute},
		{name: "always open over autumn jump", cal: "always", from: "2026-11-01 00:00 -0400", to: "2026-11-02 00:00 -0500", want: 25 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, tt.cal)
			from, to := at(t, tt.from), at(t, tt.to)
			if got := c.Between(from, to); got != tt.want {
				t.Errorf("Between(%v, %v) = %v, want %v", from, to, got, tt.want)
			}
		})
	}
}

func TestIsOpenNextOpen(t *testing.T) {
	tests := []struct {
		name, cal string
		t         string
		open      bool
		next      string // "" means t itself
	}{
		{name: "at opening", cal: "shanghai", t: "2026-03-10 09:00 +0800", open: true},
		{name: "inside", cal: "shanghai", t: "2026-03-10 12:00 +0800", open: true},
		{name: "at closing", cal: "shanghai", t: "2026-03-10 18:00 +0800", next: "2026-03-11 09:00 +0800"},
		{name: "night", cal: "shanghai", t: "2026-03-10 23:00 +0800", next: "2026-03-11 09:00 +0800"},
		{name: "Friday evening", cal: "shanghai", t: "2026-03-13 18:30 +0800", next: "2026-03-16 09:00 +0800"},
		{name: "holiday", cal: "shanghai", t: "2026-10-02 10:00 +0800", next: "2026-10-09 09:00 +0800"},
		{name: "make-up Sunday", cal: "shanghai", t: "2026-10-11 10:00 +0800", open: true},
		{name: "before make-up Sunday", cal: "shanghai", t: "2026-10-10 10:00 +0800", next: "2026-10-11 09:00 +0800"},
		{name: "lunch", cal: "lunch", t: "2026-03-10 12:00 +0800", next: "2026-03-10 13:00 +0800"},
		{name: "before lunch", cal: "lunch", t: "2026-03-10 11:59 +0800", open: true},
		{name: "extra Saturday morning", cal: "saturdays", t: "2026-03-14 09:30 +0800", open: true},
		{name: "regular Saturday morning", cal: "saturdays", t: "2026-03-21 09:30 +0800", next: "2026-03-21 10:00 +0800"},
		{name: "window opening in the gap", cal: "newYorkGap", t: "2026-03-08 01:59 -0500", next: "2026-03-08 03:00 -0400"},
		{name: "window opening in the gap, after jump", cal: "newYorkGap", t: "2026-03-08 03:00 -0400", open: true},
		{name: "repeated hour, first time", cal: "newYorkNights", t: "2026-11-01 01:30 -0400", open: true},
		{name: "repeated hour, second time", cal: "newYorkNights", t: "2026-11-01 01:30 -0500", open: true},
		{name: "Berlin after spring jump", cal: "berlin", t: "2026-03-30 08:30 +0200", next: "2026-03-30 09:00 +0200"},
		{name: "always open", cal: "always", t: "2026-03-14 03:00 +0800", open: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, tt.cal)
			tm := at(t, tt.t)
			if got := c.IsOpen(tm); got != tt.open {
				t.Errorf("IsOpen(%v) = %v, want %v", tm, got, tt.open)
			}
			want := tm
			if tt.next != "" {
				want = at(t, tt.next)
			}
			if got := c.NextOpen(tm); !got.Equal(want) {
				t.Errorf("NextOpen(%v) = %v, want %v", tm, got, want)
			}
		})
	}
}

// TestClockScenarios runs the SLA workflow's arithmetic: a clock that pauses
// and a target that changes midway, both from Between and Add alone.
func TestClockScenarios(t *testing.T) {
	c := calendar(t, "shanghai")

	t.Run("pause across a weekend", func(t *testing.T) {
		// A 4 h target starts Friday 16:00, pauses at 17:00 (waiting on the
		// customer) and resumes Monday 11:00: 3 h remain.
		start, pause, resume := at(t, "2026-03-13 16:00 +0800"), at(t, "2026-03-13 17:00 +0800"), at(t, "2026-03-16 11:00 +0800")
		elapsed := c.Between(start, pause)
		if elapsed != time.Hour {
			t.Fatalf("elapsed before pause = %v, want 1h", elapsed)
		}
		due := c.Add(resume, 4*time.Hour-elapsed)
		if want := at(t, "2026-03-16 14:00 +0800"); !due.Equal(want) {
			t.Errorf("due = %v, want %v", due, want)
		}
		if unpaused := c.Add(start, 4*time.Hour); !unpaused.Equal(at(t, "2026-03-16 11:00 +0800")) {
			t.Errorf("without the pause due = %v, want Monday 11:00", unpaused)
		}
	})

	tests := []struct {
		name              string
		start, change     string
		newTarget         time.Duration
		wantDue           string
		wantAlreadyPast   bool
		wantBreachedSince string // when the due time has passed: when it was
	}{
		// Raised from P3 (16 h) to P2 (8 h) two business hours in.
		{name: "raised, time left", start: "2026-03-09 09:00 +0800", change: "2026-03-09 11:00 +0800", newTarget: 8 * time.Hour, wantDue: "2026-03-09 17:00 +0800"},
		// Raised the next morning, 11 h in: the 8 h target passed Monday 17:00.
		{name: "raised, already due", start: "2026-03-09 09:00 +0800", change: "2026-03-10 11:00 +0800", newTarget: 8 * time.Hour, wantAlreadyPast: true, wantBreachedSince: "2026-03-09 17:00 +0800"},
		// Lowered from P1 (4 h) to P2 (8 h) one hour in, before a weekend.
		{name: "lowered over a weekend", start: "2026-03-13 16:00 +0800", change: "2026-03-13 17:00 +0800", newTarget: 8 * time.Hour, wantDue: "2026-03-16 15:00 +0800"},
		// Exactly used up at the change: due at the change.
		{name: "used up at the change", start: "2026-03-09 09:00 +0800", change: "2026-03-09 13:00 +0800", newTarget: 4 * time.Hour, wantDue: "2026-03-09 13:00 +0800"},
	}
	for _, tt := range tests {
		t.Run("priority change "+tt.name, func(t *testing.T) {
			start, change := at(t, tt.start), at(t, tt.change)
			elapsed := c.Between(start, change)
			remaining := tt.newTarget - elapsed
			if past := remaining < 0; past != tt.wantAlreadyPast {
				t.Fatalf("remaining = %v; already past = %v, want %v", remaining, past, tt.wantAlreadyPast)
			}
			if tt.wantAlreadyPast {
				// Without pauses, when it passed is Add from the start.
				if got, want := c.Add(start, tt.newTarget), at(t, tt.wantBreachedSince); !got.Equal(want) {
					t.Errorf("breached since %v, want %v", got, want)
				}
				return
			}
			due := c.Add(change, remaining)
			if want := at(t, tt.wantDue); !due.Equal(want) {
				t.Errorf("due = %v, want %v", due, want)
			}
			if direct := c.Add(start, tt.newTarget); !direct.Equal(due) {
				t.Errorf("Add(start, newTarget) = %v, differs from recomputed %v", direct, due)
			}
		})
	}
}

func TestZeroAndNil(t *testing.T) {
	start := at(t, "2026-03-08 00:00 -0500")
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Calendar{"zero": {}, "nil": nil, "AlwaysOpen": AlwaysOpen, "Always(ny)": Always(ny)} {
		t.Run(name, func(t *testing.T) {
			if got := c.Add(start, 90*time.Minute); !got.Equal(start.Add(90 * time.Minute)) {
				t.Errorf("Add = %v", got)
			}
			if got := c.Between(start, start.Add(30*time.Hour)); got != 30*time.Hour {
				t.Errorf("Between = %v", got)
			}
			if !c.IsOpen(start) || !c.NextOpen(start).Equal(start) {
				t.Errorf("not open at %v", start)
			}
		})
	}
	if loc := Always(ny).Add(start, time.Hour).Location(); loc != ny {
		t.Errorf("Always(ny).Add returned a time in %v", loc)
	}
	if loc := AlwaysOpen.Add(start, time.Hour).Location(); loc != time.UTC {
		t.Errorf("AlwaysOpen.Add returned a time in %v", loc)
	}
}

// TestMonotonicReading checks that times from time.Now, which carry a
// monotonic clock reading, give the same results as their wall-clock twins.
func TestMonotonicReading(t *testing.T) {
	now := time.Now()
	later := now.Add(50 * time.Hour)
	for _, name := range []string{"shanghai", "always"} {
		c := calendar(t, name)
		if got, want := c.Between(now, later), c.Between(now.Round(0), later.Round(0)); got != want {
			t.Errorf("%s: Between with monotonic readings = %v, without %v", name, got, want)
		}
		if got, want := c.Add(now, 20*time.Hour), c.Add(now.Round(0), 20*time.Hour); got != want {
			t.Errorf("%s: Add with a monotonic reading = %v, without %v", name, got, want)
		}
	}
}

// propertyCalendars are the calendars the random tests run over.
var propertyCalendars = []string{"shanghai", "spring", "lunch", "saturdays", "newYork", "newYorkSundays", "newYorkNights", "newYorkGap", "berlinNights", "berlinOvernight", "holidayException", "havanaShifts", "santiagoShifts", "lordHoweNights"}

func randomInstant(r *rand.Rand) time.Time {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	return from.Add(time.Duration(r.Int64N(int64(to.Sub(from)))))
}

// TestAddBetweenInverse checks, for random starts over 2026-2027 and random
// durations up to 30 business days, that Between undoes Add, that Add finds
// the earliest such instant, and that Add grows with d.
func TestAddBetweenInverse(t *testing.T) {
	const maxD = int64(30 * 9 * time.Hour)
	n := 2000
	if testing.Short() {
		n = 200
	}
	for _, name := range propertyCalendars {
		t.Run(name, func(t *testing.T) {
			c := calendar(t, name)
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			for range n {
				s := randomInstant(r)
				d1 := time.Duration(r.Int64N(maxD)) + 1
				d2 := time.Duration(r.Int64N(maxD)) + 1
				if d1 > d2 {
					d1, d2 = d2, d1
				}
				a1, a2 := c.Add(s, d1), c.Add(s, d2)
				if got := c.Between(s, a1); got != d1 {
					t.Fatalf("Between(%v, Add(s, %v) = %v) = %v", s, d1, a1, got)
				}
				if got := c.Between(s, a1.Add(-1)); got != d1-1 {
					t.Fatalf("Add(%v, %v) = %v is not the earliest: Between up to 1ns before = %v", s, d1, a1, got)
				}
				if a1.After(a2) {
					t.Fatalf("Add(%v, %v) = %v after Add(s, %v) = %v", s, d1, a1, d2, a2)
				}
				// Between adds up over any split point.
				mid := s.Add(time.Duration(r.Int64N(int64(a2.Sub(s)) + 1)))
				if got := c.Between(s, mid) + c.Between(mid, a2); got != d2 {
					t.Fatalf("Between(s, %v) + Between(%v, %v) = %v, want %v", mid, mid, a2, got, d2)
				}
			}
		})
	}
}

// TestAgainstWallClock compares IsOpen and Between with a reference written
// from the wall clock, minute by minute, over days without a DST jump in
// working hours (where wall-clock reading is ambiguous by nature).
func TestAgainstWallClock(t *testing.T) {
	nineToSixOn := func(workday func(time.Time) bool) func(time.Time) bool {
		return func(l time.Time) bool { return workday(l) && l.Hour() >= 9 && l.Hour() < 18 }
	}
	weekday := func(l time.Time) bool { return l.Weekday() != time.Saturday && l.Weekday() != time.Sunday }
	day := func(l time.Time) string { return l.Format(time.DateOnly) }
	refs := map[string]func(local time.Time) bool{
		"shanghai": nineToSixOn(func(l time.Time) bool {
			switch d := day(l); {
			case d == "2026-09-27" || d == "2026-10-11":
				return true
			case d >= "2026-10-01" && d <= "2026-10-08":
				return false
			}
			return weekday(l)
		}),
		"newYork": nineToSixOn(weekday),
		"lunch": func(l time.Time) bool {
			return weekday(l) && (l.Hour() >= 9 && l.Hour() < 12 || l.Hour() >= 13 && l.Hour() < 18)
		},
		"berlinOvernight": func(l time.Time) bool { return l.Hour() >= 22 || l.Hour() < 6 },
	}
	for name, open := range refs {
		t.Run(name, func(t *testing.T) {
			c := calendar(t, name)
			r := rand.New(rand.NewPCG(2, uint64(len(name))))
			for range 300 {
				from := randomInstant(r).Truncate(time.Minute)
				to := from.Add(time.Duration(r.IntN(3*24*60)) * time.Minute)
				// Its shifts contain Berlin's jumps; keep it off those days.
				if name == "berlinOvernight" && offset(from.Add(-24*time.Hour), c.loc) != offset(to.Add(24*time.Hour), c.loc) {
					continue
				}
				var want time.Duration
				for m := from; m.Before(to); m = m.Add(time.Minute) {
					isOpen := open(m.In(c.loc))
					if isOpen {
						want += time.Minute
					}
					if m.Minute()%7 == 0 { // a sample is enough
						if got := c.IsOpen(m); got != isOpen {
							t.Fatalf("IsOpen(%v) = %v, want %v", m.In(c.loc), got, isOpen)
						}
					}
				}
				if got := c.Between(from, to); got != want {
					t.Fatalf("Between(%v, %v) = %v, want %v", from.In(c.loc), to.In(c.loc), got, want)
				}
			}
		})
	}
}

func offset(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// TestAllDayIsWallClock checks, for zones with jumps of every kind, that a
// calendar open 00:00-24:00 every day counts exactly the absolute time, so
// its days neither overlap nor leave gaps whatever the clocks do, and that
// its working intervals come in order.
func TestAllDayIsWallClock(t *testing.T) {
	zones := []string{
		"America/New_York", "Europe/Berlin", "Asia/Shanghai", "America/Havana", "America/Santiago",
		"Australia/Lord_Howe", "Pacific/Apia", "Asia/Tehran", "Africa/Casablanca", "Pacific/Chatham",
	}
	for _, zone := range zones {
		t.Run(zone, func(t *testing.T) {
			c, err := New(Spec{TimeZone: zone, WorkingHours: []WorkingHours{{Days: everyDay, Start: "00:00", End: "24:00"}}})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, uint64(len(zone))))
			for range 500 {
				from := randomInstant(r)
				to := from.Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))
				if got := c.Between(from, to); got != to.Sub(from) {
					t.Fatalf("Between(%v, %v) = %v, want %v", from.In(c.loc), to.In(c.loc), got, to.Sub(from))
				}
			}
			// Samoa skipped 2011-12-30 altogether.
			from, to := time.Date(2011, 12, 28, 0, 0, 0, 0, c.loc), time.Date(2012, 1, 2, 0, 0, 0, 0, c.loc)
			if got := c.Between(from, to); got != to.Sub(from) {
				t.Errorf("Between(%v, %v) = %v, want %v", from, to, got, to.Sub(from))
			}
		})
	}
	for _, name := range propertyCalendars {
		t.Run("intervals in order/"+name, func(t *testing.T) {
			c := calendar(t, name)
			w := c.walk(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var last time.Time
			for a, b := w.next(); a.Year() < 2028; a, b = w.next() {
				if !a.Before(b) || a.Before(last) {
					t.Fatalf("interval [%v, %v) after one ending %v", a, b, last)
				}
				last = b
			}
		})
	}
}

// TestConcurrentUse shares one Calendar between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	c := calendar(t, "shanghai")
	start := at(t, "2026-09-20 10:00 +0800")
	want := c.Add(start, 100*time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := c.Add(start, 100*time.Hour); !got.Equal(want) {
					t.Errorf("Add = %v, want %v", got, want)
					return
				}
				if got := c.Between(start, want); got != 100*time.Hour {
					t.Errorf("Between = %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLongHolidays checks that a walk skips runs of holidays in one step:
// touching ranges covering a year are merged, so Add crosses them.
func TestLongHolidays(t *testing.T) {
	spec := Spec{TimeZone: "Asia/Shanghai", WorkingHours: nineToSix}
	for month := 1; month <= 12; month++ {
		first := time.Date(2027, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
		spec.Holidays = append(spec.Holidays, Holiday{
			Name: first.Format("Jan"),
			From: first.Format(time.DateOnly),
			To:   first.AddDate(0, 1, -1).Format(time.DateOnly),
		})
	}
	c, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	start := at(t, "2026-12-31 17:00 +0800")
	got := c.Add(start, 2*time.Hour)
	if want := at(t, "2028-01-03 10:00 +0800"); !got.Equal(want) {
		t.Errorf("Add = %v, want %v", got, want)
	}
}

func ExampleCalendar_Add() {
	c, err := New(Spec{
		TimeZone:         "Asia/Shanghai",
		WorkingHours:     []WorkingHours{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "18:00"}},
		Holidays:         []Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-08"}},
		ExtraWorkingDays: []string{"2026-09-27", "2026-10-11"},
	})
	if err != nil {
		panic(err)
	}
	opened := time.Date(2026, 9, 30, 17, 0, 0, 0, c.Location())
	fmt.Println(c.Add(opened, 8*time.Hour))
	// Output: 2026-10-09 16:00:00 +0800 CST
}

// BenchmarkAdd measures a due time 30 business days (270 h) out: about six
// weeks of days to walk.
func BenchmarkAdd(b *testing.B) {
	for _, name := range []string{"shanghai", "newYork", "lunch"} {
		b.Run(name, func(b *testing.B) {
			c := calendar(b, name)
			start := time.Date(2026, 2, 20, 10, 17, 0, 0, c.Location())
			var due time.Time
			for b.Loop() {
				due = c.Add(start, 30*9*time.Hour)
			}
			if c.Between(start, due) != 30*9*time.Hour {
				b.Fatal("Add and Between disagree")
			}
		})
	}
}
