package calendar

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewRefuses(t *testing.T) {
	ok := nineToSix
	tests := []struct {
		name string
		spec Spec
		want []string // every line of the error, in order
	}{
		{
			name: "unknown time zone",
			spec: Spec{TimeZone: "Mars/Olympus", WorkingHours: ok},
			want: []string{`timeZone: "Mars/Olympus" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`},
		},
		{
			name: "host time zone",
			spec: Spec{TimeZone: "Local", WorkingHours: ok},
			want: []string{`timeZone: "Local" is the host's zone; name an IANA time zone such as "Asia/Shanghai" or "UTC"`},
		},
		{
			name: "no working time",
			spec: Spec{TimeZone: "UTC"},
			want: []string{`workingHours: empty; a calendar needs working time (a round-the-clock target has businessHours: false)`},
		},
		{
			name: "malformed times",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: weekdaysOnly, Start: "09:00", End: "18:00"},
				{Days: []string{"Sat"}, Start: "9am", End: "25:00"},
				{Days: []string{"Sun"}, Start: "24:00", End: "9:00"},
				{Days: []string{"Sun"}, Start: "10:60", End: "24:01"},
			}},
			want: []string{
				`workingHours[1].start: "9am" is not HH:MM (00:00..23:59)`,
				`workingHours[1].end: "25:00" is not HH:MM (00:00..24:00)`,
				`workingHours[2].start: "24:00" is not HH:MM (00:00..23:59)`,
				`workingHours[2].end: "9:00" is not HH:MM (00:00..24:00)`,
				`workingHours[3].start: "10:60" is not HH:MM (00:00..23:59)`,
				`workingHours[3].end: "24:01" is not HH:MM (00:00..24:00)`,
			},
		},
		{
			name: "end not after start",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: weekdaysOnly, Start: "09:00", End: "08:00"},
				{Days: []string{"Sat"}, Start: "10:00", End: "10:00"},
				{Days: []string{"Sun"}, Start: "22:00", End: "06:00"},
			}},
			want: []string{
				`workingHours[0]: end 08:00 is not after start 09:00; an overnight shift is two entries (e.g. 22:00-24:00 and 00:00-06:00)`,
				`workingHours[1]: end 10:00 is not after start 10:00`,
				`workingHours[2]: end 06:00 is not after start 22:00; an overnight shift is two entries (e.g. 22:00-24:00 and 00:00-06:00)`,
			},
		},
		{
			name: "overlapping working hours",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: weekdaysOnly, Start: "09:00", End: "18:00"},
				{Days: []string{"Sat"}, Start: "10:00", End: "14:00"},
				{Days: []string{"Mon", "Sat"}, Start: "12:00", End: "13:00"},
				{Days: []string{"Sun"}, Start: "00:00", End: "24:00"},
				{Days: []string{"Sunday"}, Start: "23:00", End: "24:00"},
				{Days: []string{"Tue"}, Start: "18:00", End: "19:00"}, // touching is fine
			}},
			want: []string{
				`workingHours[2]: Mon 12:00-13:00 overlaps workingHours[0] (Mon 09:00-18:00)`,
				`workingHours[2]: Sat 12:00-13:00 overlaps workingHours[1] (Sat 10:00-14:00)`,
				`workingHours[4]: Sun 23:00-24:00 overlaps workingHours[3] (Sun 00:00-24:00)`,
			},
		},
		{
			name: "bad days",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: []string{"Mon", "Funday", "Tues", "monday"}, Start: "09:00", End: "18:00"},
				{Start: "09:00", End: "18:00"},
			}},
			want: []string{
				`workingHours[0].days[1]: "Funday" is not a day (Mon..Sun or Monday..Sunday, any case)`,
				`workingHours[0].days[2]: "Tues" is not a day (Mon..Sun or Monday..Sunday, any case)`,
				`workingHours[0].days[3]: Mon repeats days[0]`,
				`workingHours[1].days: empty; name at least one of Mon, Tue, Wed, Thu, Fri, Sat, Sun`,
			},
		},
		{
			name: "overlapping holidays",
			spec: Spec{WorkingHours: ok, Holidays: []Holiday{
				{Name: "国庆节", From: "2026-10-01", To: "2026-10-08"},
				{From: "2026-10-03", To: "2026-10-05"},
				{Name: "中秋节", From: "2026-09-25"},
				{Name: "touching", From: "2026-10-09"}, // touching is fine
				{From: "2026-09-20", To: "2026-10-01"},
			}},
			want: []string{
				`holidays[1]: 2026-10-03..2026-10-05 overlaps holidays[0] (国庆节 2026-10-01..2026-10-08)`,
				`holidays[4]: 2026-09-20..2026-10-01 overlaps holidays[0] (国庆节 2026-10-01..2026-10-08)`,
				`holidays[4]: 2026-09-20..2026-10-01 overlaps holidays[2] (中秋节 2026-09-25..2026-09-25)`,
			},
		},
		{
			name: "bad holiday dates",
			spec: Spec{WorkingHours: ok, Holidays: []Holiday{
				{Name: "backwards", From: "2026-10-08", To: "2026-10-01"},
				{Name: "no from", To: "2026-10-01"},
				{From: "2026-02-30"},
				{From: "2026-10-1", To: "1 Oct 2026"},
				{From: "2026-10-01", To: "2027-10-08"},
			}},
			want: []string{
				`holidays[0].to: 2026-10-01 is before from 2026-10-08`,
				`holidays[1].from: required, a date YYYY-MM-DD`,
				`holidays[2].from: "2026-02-30" is not a date (YYYY-MM-DD)`,
				`holidays[3].from: "2026-10-1" is not a date (YYYY-MM-DD)`,
				`holidays[3].to: "1 Oct 2026" is not a date (YYYY-MM-DD)`,
				`holidays[4]: 2026-10-01..2027-10-08 spans 373 days, more than 366 (a mistyped year?); write a longer closure as several ranges`,
			},
		},
		{
			name: "bad extra working days",
			spec: Spec{WorkingHours: ok, ExtraWorkingDays: []string{"2026-09-27", "2026/10/11", "2026-09-27", ""}},
			want: []string{
				`extraWorkingDays[1]: "2026/10/11" is not a date (YYYY-MM-DD)`,
				`extraWorkingDays[2]: 2026-09-27 repeats extraWorkingDays[0]`,
				`extraWorkingDays[3]: "" is not a date (YYYY-MM-DD)`,
			},
		},
		{
			name: "everything at once",
			spec: Spec{
				TimeZone:         "Mars/Olympus",
				WorkingHours:     []WorkingHours{{Days: []string{"Mon"}, Start: "9am", End: "18:00"}},
				Holidays:         []Holiday{{From: "2026-10-08", To: "2026-10-01"}},
				ExtraWorkingDays: []string{"27.9.2026"},
			},
			want: []string{
				`timeZone: "Mars/Olympus" is not an IANA time zone (e.g. "Asia/Shanghai", "Europe/Berlin", "UTC")`,
				`workingHours[0].start: "9am" is not HH:MM (00:00..23:59)`,
				`holidays[0].to: 2026-10-01 is before from 2026-10-08`,
				`extraWorkingDays[0]: "27.9.2026" is not a date (YYYY-MM-DD)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.spec)
			if err == nil {
				t.Fatalf("New accepted the spec: %+v", c)
			}
			if c != nil {
				t.Errorf("New returned a calendar with its error")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("New error:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.want[0], fe.Path+": ") {
				t.Errorf("errors.As(*FieldError) = %+v, want the first problem", fe)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		check func(t *testing.T, c *Calendar)
	}{
		{
			name: "day names in any case, full names, 24:00",
			spec: Spec{WorkingHours: []WorkingHours{{Days: []string{"MON", "tuesday", "Wed", "THURSDAY", "fri", "Saturday", "sUn"}, Start: "00:00", End: "24:00"}}},
			check: func(t *testing.T, c *Calendar) {
				from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
				if got := c.Between(from, from.AddDate(0, 0, 7)); got != 7*24*time.Hour {
					t.Errorf("a week = %v, want 168h", got)
				}
			},
		},
		{
			name: "empty zone is UTC",
			spec: Spec{WorkingHours: nineToSix},
			check: func(t *testing.T, c *Calendar) {
				if c.Location() != time.UTC {
					t.Errorf("Location = %v", c.Location())
				}
			},
		},
		{
			name: "one-day holiday without to",
			spec: Spec{WorkingHours: nineToSix, Holidays: []Holiday{{Name: "元旦", From: "2026-01-01"}}},
			check: func(t *testing.T, c *Calendar) {
				if c.IsOpen(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) || !c.IsOpen(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)) {
					t.Error("2026-01-01 should be closed and 2026-01-02 open")
				}
			},
		},
		{
			name: "touching hours are one opening",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: weekdaysOnly, Start: "13:00", End: "18:00"},
				{Days: weekdaysOnly, Start: "09:00", End: "13:00"},
			}},
			check: func(t *testing.T, c *Calendar) {
				if got := c.week[time.Monday]; !slices.Equal(got, []span{{9 * 60, 18 * 60}}) {
					t.Errorf("Monday = %v", got)
				}
			},
		},
		{
			name: "extra working day hours: the most common schedule",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: []string{"Mon", "Tue", "Wed", "Thu"}, Start: "09:00", End: "18:00"},
				{Days: []string{"Fri"}, Start: "09:00", End: "16:00"},
				{Days: []string{"Sat", "Sun"}, Start: "10:00", End: "12:00"},
			}},
			check: func(t *testing.T, c *Calendar) {
				if !slices.Equal(c.extraHours, []span{{9 * 60, 18 * 60}}) {
					t.Errorf("extra working day hours = %v, want 09:00-18:00", c.extraHours)
				}
			},
		},
		{
			name: "extra working day hours: Monday first on a tie",
			spec: Spec{WorkingHours: []WorkingHours{
				{Days: []string{"Sat"}, Start: "10:00", End: "12:00"},
				{Days: []string{"Mon"}, Start: "08:00", End: "12:00"},
				{Days: []string{"Tue"}, Start: "09:00", End: "12:00"},
			}},
			check: func(t *testing.T, c *Calendar) {
				if !slices.Equal(c.extraHours, []span{{8 * 60, 12 * 60}}) {
					t.Errorf("extra working day hours = %v, want 08:00-12:00", c.extraHours)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// FuzzNew feeds arbitrary strings into every field of a Spec: New must
// never panic, and a calendar it accepts must compute without panicking
// and keep Add and Between inverse.
func FuzzNew(f *testing.F) {
	f.Add("Asia/Shanghai", "Mon,Tue,Wed,Thu,Fri", "09:00", "18:00", "国庆节", "2026-10-01", "2026-10-08", "2026-09-27,2026-10-11")
	f.Add("America/New_York", "sun", "00:00", "24:00", "", "2026-03-08", "", "")
	f.Add("Europe/Berlin", "Saturday", "01:00", "04:00", "x", "2026-10-25", "2026-10-24", "2026-10-25")
	f.Add("Mars/Olympus", "Funday", "9am", "8:00", "", "2026-13-01", "0000-00-00", ",")
	f.Add("", "mon", "23:59", "24:00", "", "9999-12-01", "9999-12-31", "0001-01-01")
	f.Fuzz(func(t *testing.T, zone, days, start, end, name, from, to, extra string) {
		spec := Spec{
			TimeZone: zone,
			WorkingHours: []WorkingHours{
				{Days: strings.Split(days, ","), Start: start, End: end},
				{Days: []string{"Wed"}, Start: end, End: "24:00"},
			},
			Holidays: []Holiday{{Name: name, From: from, To: to}, {From: to}},
		}
		if extra != "" {
			spec.ExtraWorkingDays = strings.Split(extra, ",")
		}
		c, err := New(spec)
		if err != nil {
			if c != nil {
				t.Fatal("calendar with error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error without a FieldError: %v", err)
			}
			return
		}
		s := time.Date(2026, 10, 20, 13, 7, 0, 0, time.UTC)
		for _, d := range []time.Duration{time.Nanosecond, 90 * time.Minute, 300 * time.Hour} {
			due := c.Add(s, d)
			if got := c.Between(s, due); got != d {
				t.Fatalf("Between(s, Add(s, %v) = %v) = %v", d, due, got)
			}
		}
		c.IsOpen(s)
		if next := c.NextOpen(s); !c.IsOpen(next) {
			t.Fatalf("NextOpen(%v) = %v is not open", s, next)
		}
	})
}
