package ticket

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DefaultImpactUrgency is the default for impact and urgency when a request
// leaves them out: medium, which the default matrix maps to P3.
const DefaultImpactUrgency = 2

// Matrix maps ITIL impact x urgency (each 1 = high .. 3 = low) to a priority.
// Row index is impact-1, column index is urgency-1.
type Matrix [3][3]Priority

// DefaultMatrix is the ITIL matrix most service desks start from:
//
//	               urgency high  medium  low
//	impact high             P1      P2   P3
//	impact medium           P2      P3   P4
//	impact low              P3      P4   P5
var DefaultMatrix = Matrix{
	{P1, P2, P3},
	{P2, P3, P4},
	{P3, P4, P5},
}

// Priority returns the priority for impact and urgency, both already
// validated to lie in 1..3.
func (m Matrix) Priority(impact, urgency int) Priority {
	return m[impact-1][urgency-1]
}

// RaiseStep is the one-step raise an SLA escalation makes to a ticket's
// impact and urgency (1 = high .. 3 = low): urgency up one step, or impact
// once urgency is highest. It returns both after the raise and the field
// it changed; ok is false when both are highest already.
func RaiseStep(impact, urgency int) (newImpact, newUrgency int, field string, ok bool) {
	switch {
	case urgency > 1:
		return impact, urgency - 1, "urgency", true
	case impact > 1:
		return impact - 1, urgency, "impact", true
	}
	return impact, urgency, "", false
}

// RaiseTo returns the impact and urgency (1 = high .. 3 = low) that give
// at least priority floor in m, raised as little as reaches it: urgency
// first, and impact only as far as urgency alone cannot reach the floor
// (as RaiseStep raises, urgency before impact). Neither is ever lowered:
// a ticket at or above the floor keeps both. When no raise reaches the
// floor (a matrix without it), both go as far as m's highest priority
// within reach asks.
func (m Matrix) RaiseTo(impact, urgency int, floor Priority) (newImpact, newUrgency int) {
	// The highest priority within reach, should the floor be out of it.
	best := m.Priority(impact, urgency)
	for i := impact; i >= 1; i-- {
		for u := urgency; u >= 1; u-- {
			best = min(best, m.Priority(i, u))
		}
	}
	floor = max(floor, best)
	for i := impact; i >= 1; i-- {
		for u := urgency; u >= 1; u-- {
			if m.Priority(i, u) <= floor {
				return i, u
			}
		}
	}
	return impact, urgency // unreachable: best is within reach
}

// Validate checks that every cell holds P1..P5.
func (m Matrix) Validate() error {
	for i, row := range m {
		for u, p := range row {
			if p < P1 || p > P5 {
				return fmt.Errorf("priorityMatrix[%d][%d]: %d is not a priority; accepted: P1..P5", i, u, p)
			}
		}
	}
	return nil
}

// ParseMatrix reads a matrix written as three rows of three priorities,
// impact high first, urgency high first: e.g. ["P1 P2 P3", "P2 P3 P4",
// "P3 P4 P5"].
func ParseMatrix(rows []string) (Matrix, error) {
	var m Matrix
	if len(rows) != 3 {
		return m, fmt.Errorf("priorityMatrix: has %d rows; accepted: 3 rows (impact high, medium, low)", len(rows))
	}
	for i, row := range rows {
		cells := strings.Fields(row)
		if len(cells) != 3 {
			return m, fmt.Errorf("priorityMatrix[%d]: %q has %d cells; accepted: 3 priorities (urgency high, medium, low)", i, row, len(cells))
		}
		for u, c := range cells {
			p, err := ParsePriority(c)
			if err != nil {
				return m, fmt.Errorf("priorityMatrix[%d][%d]: %w", i, u, err)
			}
			m[i][u] = p
		}
	}
	return m, nil
}

// MarshalJSON writes the matrix as ParseMatrix reads it: three rows of
// three priorities.
func (m Matrix) MarshalJSON() ([]byte, error) {
	rows := make([]string, 3)
	for i, row := range m {
		rows[i] = fmt.Sprintf("%s %s %s", row[0], row[1], row[2])
	}
	return json.Marshal(rows)
}

// UnmarshalJSON reads the matrix as ParseMatrix does, so a configuration
// file can hold it: priorityMatrix: ["P1 P2 P3", "P2 P3 P4", "P3 P4 P5"].
func (m *Matrix) UnmarshalJSON(b []byte) error {
	var rows []string
	if err := json.Unmarshal(b, &rows); err != nil {
		return fmt.Errorf("priorityMatrix: %s is not a list of rows; accepted: e.g. [\"P1 P2 P3\", \"P2 P3 P4\", \"P3 P4 P5\"]", b)
	}
	parsed, err := ParseMatrix(rows)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// String renders P1..P5.
func (p Priority) String() string {
	if p < P1 || p > P5 {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return fmt.Sprintf("P%d", int(p))
}

// ParsePriority accepts "P1".."P5" (any case) and "PRIORITY_P1".."PRIORITY_P5".
func ParsePriority(s string) (Priority, error) {
	u := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "PRIORITY_")
	if len(u) == 2 && u[0] == 'P' && u[1] >= '1' && u[1] <= '5' {
		return Priority(u[1] - '0'), nil
	}
	return 0, fmt.Errorf("%q is not a priority; accepted: P1, P2, P3, P4, P5", s)
}
