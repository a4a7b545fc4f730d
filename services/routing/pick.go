package routing

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Situation is what a group's strategy reads to pick an agent for one
// ticket: the group, what the ticket needs, and the members' state.
type Situation struct {
	Group   Group
	Channel string             // the ticket's channel
	Skills  []SkillRequirement // what the rules require
	// Agents holds the stored profiles of the members; a member without
	// one is offline with the default capacity and no skills.
	Agents map[string]Agent
	// Loads counts each agent's open tickets per channel.
	Loads map[string]map[string]int
	// LastPicked is the member round robin picked last ("" for none).
	LastPicked string
	// Exclude leaves agents out (e.g. the one a ticket returns from).
	Exclude []string
}

// Pick is a strategy's choice: the agent ("" when none may take the
// ticket) and every member considered, the chosen one first, each with
// why it was or was not chosen.
type Pick struct {
	Agent      string
	Candidates []Candidate
}

// Reason codes of candidates; their arguments are in the comments. The
// sentences are in explain.go.
const (
	ReasonOffline     = "agent.offline"      // {presence}
	ReasonExcluded    = "agent.excluded"     // {}
	ReasonAtCapacity  = "agent.at_capacity"  // {channel, load, limit}
	ReasonLacksSkill  = "agent.lacks_skill"  // {skill, need, have}
	ReasonChosenTurn  = "agent.chosen_turn"  // {after}: next in turn
	ReasonChosenLoad  = "agent.chosen_load"  // {channel, load, limit}
	ReasonChosenSkill = "agent.chosen_skill" // {score, load, limit}
	ReasonChosenIdle  = "agent.chosen_idle"  // {strategy}: a tie, longest idle
	ReasonLaterTurn   = "agent.later_turn"   // {}
	ReasonMoreLoaded  = "agent.more_loaded"  // {channel, load, limit}
	ReasonLowerSkill  = "agent.lower_skill"  // {score}
	ReasonLessIdle    = "agent.less_idle"    // {}
)

// eligible is a member who may take the ticket, with what ranks it.
type eligible struct {
	id    string
	turn  int     // position after LastPicked, for round robin
	share float64 // load / limit on the channel
	total int     // open tickets on every channel
	score int     // skill levels above what the ticket needs
	idle  time.Time
	load  int
	limit int
}

// Choose picks the agent for a ticket by the group's strategy among its
// members who are online, have the skills at the levels required and
// room on the ticket's channel. Round robin takes the next such member
// after the last one picked, in the order of Members; least loaded the
// one with the smallest share of its capacity in use on the channel (then
// the fewest open tickets overall); skills the one with the most levels
// above those required (then as least loaded). Remaining ties go to the
// longest idle (the earliest last assignment). A pool group picks nobody:
// its tickets are offered; Choose is not called for it.
func Choose(s Situation) Pick {
	var (
		pick   Pick
		ok     []eligible
		others []Candidate
	)
	members := s.Group.Members
	start := 0
	if i := slices.Index(members, s.LastPicked); i >= 0 {
		start = i + 1
	}
	for i, id := range members {
		a, found := s.Agents[id]
		if !found {
			a = Agent{ID: id, Presence: Offline}
		}
		if slices.Contains(s.Exclude, id) {
			others = append(others, Candidate{Agent: id, Reason: Reason{Code: ReasonExcluded}})
			continue
		}
		if a.Presence != Online {
			others = append(others, Candidate{Agent: id, Reason: Reason{Code: ReasonOffline, Args: map[string]string{"presence": string(cmp.Or(a.Presence, Offline))}}})
			continue
		}
		if r, lacks := lacking(a, s.Skills); lacks {
			others = append(others, Candidate{Agent: id, Reason: r})
			continue
		}
		load, limit := s.Loads[id][s.Channel], a.CapacityFor(s.Channel)
		if load >= limit {
			others = append(others, Candidate{Agent: id, Reason: Reason{Code: ReasonAtCapacity, Args: loadArgs(s.Channel, load, limit)}})
			continue
		}
		total := 0
		for _, n := range s.Loads[id] {
			total += n
		}
		ok = append(ok, eligible{
			id: id, turn: (i - start + len(members)) % len(members),
			share: float64(load) / float64(limit), total: total, score: skillScore(a, s.Skills),
			idle: a.LastAssignTime, load: load, limit: limit,
		})
	}
	if len(ok) == 0 {
		pick.Candidates = others
		return pick
	}
	rank := rankBy(s.Group.Strategy)
	slices.SortStableFunc(ok, rank)
	best := ok[0]
	pick.Agent = best.id
	tied := len(ok) > 1 && rankWithoutIdle(s.Group.Strategy)(best, ok[1]) == 0
	pick.Candidates = append(pick.Candidates, Candidate{Agent: best.id, Chosen: true, Reason: chosenReason(s, best, tied)})
	for _, e := range ok[1:] {
		pick.Candidates = append(pick.Candidates, Candidate{Agent: e.id, Reason: passedReason(s, best, e)})
	}
	pick.Candidates = append(pick.Candidates, others...)
	return pick
}

func loadArgs(channel string, load, limit int) map[string]string {
	return map[string]string{"channel": channel, "load": strconv.Itoa(load), "limit": strconv.Itoa(limit)}
}

// lacking reports the first required skill a lacks, or has below the
// level required.
func lacking(a Agent, need []SkillRequirement) (Reason, bool) {
	for _, n := range need {
		have := 0
		for _, s := range a.Skills {
			if s.Name == n.Name {
				have = s.Level
			}
		}
		if have < max(n.MinLevel, 1) {
			return Reason{Code: ReasonLacksSkill, Args: map[string]string{
				"skill": n.Name, "need": strconv.Itoa(max(n.MinLevel, 1)), "have": strconv.Itoa(have),
			}}, true
		}
	}
	return Reason{}, false
}

// skillScore sums the levels a has above those required.
func skillScore(a Agent, need []SkillRequirement) int {
	score := 0
	for _, n := range need {
		for _, s := range a.Skills {
			if s.Name == n.Name {
				score += s.Level - max(n.MinLevel, 1)
			}
		}
	}
	return score
}

func byLoad(a, b eligible) int {
	return cmp.Or(cmp.Compare(a.share, b.share), cmp.Compare(a.total, b.total))
}

// rankWithoutIdle orders eligible members by the strategy alone.
func rankWithoutIdle(st Strategy) func(a, b eligible) int {
	switch st {
	case LeastLoaded:
		return byLoad
	case BySkills:
		return func(a, b eligible) int { return cmp.Or(cmp.Compare(b.score, a.score), byLoad(a, b)) }
	default: // round robin
		return func(a, b eligible) int { return cmp.Compare(a.turn, b.turn) }
	}
}

// rankBy orders eligible members best first: the strategy, then the
// longest idle, then the ID so the order is total.
func rankBy(st Strategy) func(a, b eligible) int {
	strategy := rankWithoutIdle(st)
	return func(a, b eligible) int {
		return cmp.Or(strategy(a, b), a.idle.Compare(b.idle), cmp.Compare(a.id, b.id))
	}
}

func chosenReason(s Situation, e eligible, tied bool) Reason {
	if tied {
		return Reason{Code: ReasonChosenIdle, Args: map[string]string{"strategy": string(s.Group.Strategy)}}
	}
	switch s.Group.Strategy {
	case LeastLoaded:
		return Reason{Code: ReasonChosenLoad, Args: loadArgs(s.Channel, e.load, e.limit)}
	case BySkills:
		args := loadArgs(s.Channel, e.load, e.limit)
		args["score"] = strconv.Itoa(e.score)
		return Reason{Code: ReasonChosenSkill, Args: args}
	default:
		return Reason{Code: ReasonChosenTurn, Args: map[string]string{"after": s.LastPicked}}
	}
}

func passedReason(s Situation, best, e eligible) Reason {
	if rankWithoutIdle(s.Group.Strategy)(best, e) == 0 {
		return Reason{Code: ReasonLessIdle}
	}
	switch s.Group.Strategy {
	case LeastLoaded:
		return Reason{Code: ReasonMoreLoaded, Args: loadArgs(s.Channel, e.load, e.limit)}
	case BySkills:
		if e.score < best.score {
			return Reason{Code: ReasonLowerSkill, Args: map[string]string{"score": strconv.Itoa(e.score)}}
		}
		return Reason{Code: ReasonMoreLoaded, Args: loadArgs(s.Channel, e.load, e.limit)}
	default:
		return Reason{Code: ReasonLaterTurn}
	}
}
