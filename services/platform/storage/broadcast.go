package storage

import "sync"

// Broadcaster wakes the subscribers of a topic (for the stores: a tenant)
// after a commit. Notify never blocks the writer: each subscription holds at
// most one pending wake-up, so a burst of commits reaches a slow subscriber
// as one signal, after which it reads everything new. The zero value is
// ready to use.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a value after Notify(topic) or
// NotifyAll, and a cancel func that releases it (safe to call twice).
func (b *Broadcaster) Subscribe(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[string]map[chan struct{}]struct{})
	}
	set := b.subs[topic]
	if set == nil {
		set = make(map[chan struct{}]struct{})
		b.subs[topic] = set
	}
	set[ch] = struct{}{}
	b.mu.Unlock()

	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(b.subs[topic], ch)
			if len(b.subs[topic]) == 0 {
				delete(b.subs, topic)
			}
		})
	}
}

// Notify wakes every subscriber of topic.
func (b *Broadcaster) Notify(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[topic] {
		wake(ch)
	}
}

// NotifyAll wakes every subscriber of every topic, e.g. after notifications
// from other processes may have been lost.
func (b *Broadcaster) NotifyAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, set := range b.subs {
		for ch := range set {
			wake(ch)
		}
	}
}

// wake leaves a signal in ch unless one is already pending.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
