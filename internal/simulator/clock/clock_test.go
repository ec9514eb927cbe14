package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeFiresTimersOnlyWhenMovedPastThem(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := NewFake(t0)
	a, b := f.NewTimer(time.Second), f.NewTimer(3*time.Second)
	stopped := f.NewTimer(2 * time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should stop a pending timer once")
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Millisecond)
	if at := <-a.C(); !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("fired at %v", at)
	}
	if f.Waiters() != 1 || !f.Deadlines()[0].Equal(t0.Add(3*time.Second)) {
		t.Fatalf("pending %v", f.Deadlines())
	}
	f.Set(t0) // never backwards
	if !f.Now().Equal(t0.Add(time.Second)) {
		t.Fatalf("clock went back to %v", f.Now())
	}
	f.Advance(time.Hour)
	<-b.C()
	if f.Waiters() != 0 {
		t.Fatal("fired timers are still pending")
	}
	select {
	case <-f.After(0):
	default:
		t.Fatal("a zero timer did not fire at once")
	}
}

func TestBlockUntilWaitsForTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	go func() {
		time.Sleep(10 * time.Millisecond)
		_ = Sleep(context.Background(), f, time.Minute)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := f.BlockUntil(short, 5); err == nil {
		t.Fatal("BlockUntil returned without enough timers")
	}
}
