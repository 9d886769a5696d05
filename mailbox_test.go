package crosstalk

import (
	"errors"
	"testing"
)

func TestMailboxBounds(t *testing.T) {
	mb := NewMailbox(2, 0)
	m := &Message{Body: "x"}
	for i := range 2 {
		if err := mb.Put(m); err != nil {
			t.Fatalf("put %d within the count: %v", i, err)
		}
	}
	if err := mb.Put(m); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("third put: %v", err)
	}
	select {
	case <-mb.Ready():
	default:
		t.Fatal("Ready not signalled")
	}
	if got := mb.Take(nil); len(got) != 2 || mb.Len() != 0 {
		t.Fatalf("took %d, %d left", len(got), mb.Len())
	}

	small := NewMailbox(100, 300)
	big := &Message{Body: string(make([]byte, 150))}
	if err := small.Put(big); err != nil {
		t.Fatal(err)
	}
	if err := small.Put(big); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("byte budget not enforced: %v", err)
	}
	left := small.Close()
	if len(left) != 1 {
		t.Fatalf("Close returned %d leftovers", len(left))
	}
	if err := small.Put(m); !errors.Is(err, ErrEndpointClosed) {
		t.Fatalf("put after close: %v", err)
	}
}
