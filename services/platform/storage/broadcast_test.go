package storage

import (
	"testing"
	"time"
)

func received(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestBroadcaster(t *testing.T) {
	var b Broadcaster
	a1, cancelA1 := b.Subscribe("a")
	a2, cancelA2 := b.Subscribe("a")
	other, cancelOther := b.Subscribe("b")
	defer cancelA2()
	defer cancelOther()

	// Many notifies coalesce into one pending wake-up and never block.
	for range 100 {
		b.Notify("a")
	}
	if !received(a1) || !received(a2) {
		t.Error("subscribers of a were not woken")
	}
	if received(a1) {
		t.Error("a burst of notifies left more than one wake-up")
	}
	if received(other) {
		t.Error("a subscriber of b was woken by a notify for a")
	}

	cancelA1()
	cancelA1() // twice is fine
	b.Notify("a")
	if received(a1) {
		t.Error("a cancelled subscription was woken")
	}
	if !received(a2) {
		t.Error("the remaining subscriber of a was not woken")
	}

	b.NotifyAll()
	if !received(a2) || !received(other) {
		t.Error("NotifyAll did not wake every subscriber")
	}
}

func TestBroadcasterWakesWaiter(t *testing.T) {
	var b Broadcaster
	ch, cancel := b.Subscribe("t")
	defer cancel()
	go b.Notify("t")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken")
	}
}
