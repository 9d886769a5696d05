package xmpp

import (
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const benchRoom = "bench@conference.example.test"

// BenchmarkMUCFanout measures one groupchat message into a room through
// the whole server (TLS, mapping, the hub's room, one writer per session)
// until the last occupant has read it: ns/op is the time to the last
// delivery, with every occupant a real TLS client on loopback.
func BenchmarkMUCFanout(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) {
			clients, arrived, stop := roomOf(b, n, n)
			defer stop()
			msg := "<message to='" + benchRoom + "' type='groupchat'><body>fan-out Grüße</body></message>"
			b.ResetTimer()
			for range b.N {
				clients[0].send(msg)
				for range n {
					awaitDelivery(b, arrived)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkMUCBusy measures a busy room: ten of fifty occupants send
// groupchat messages round-robin with at most 64 messages in flight;
// msgs/s counts messages delivered to all fifty per second.
func BenchmarkMUCBusy(b *testing.B) {
	const n, senders, window = 50, 10, 64
	clients, arrived, stop := roomOf(b, n, n*window)
	defer stop()
	msg := "<message to='" + benchRoom + "' type='groupchat'><body>fan-out busy ☕</body></message>"
	b.ResetTimer()
	delivered := 0
	for i := range b.N {
		for i-delivered/n >= window {
			awaitDelivery(b, arrived)
			delivered++
		}
		clients[i%senders].send(msg)
	}
	for ; delivered < b.N*n; delivered++ {
		awaitDelivery(b, arrived)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
}

func awaitDelivery(b *testing.B, arrived <-chan struct{}) {
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		b.Fatal("a delivery took over 30 s")
	}
}

// roomOf logs n clients in and joins them to one room, each with a reader
// signalling on arrived (with room for buffer signals) every groupchat
// message it receives; stop closes them and waits for the readers.
func roomOf(b *testing.B, n, buffer int) ([]*client, <-chan struct{}, func()) {
	ts := startServer(b, func(c *Config) { c.ConnectionsPerIP = n + 8 })
	arrived := make(chan struct{}, buffer)
	var readers sync.WaitGroup
	clients := make([]*client, n)
	for i := range n {
		c := ts.login(b, ts.user(b, fmt.Sprintf("u%d", i)), "r", false)
		c.send(fmt.Sprintf("<presence to='%s/n%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>", benchRoom, i))
		for j := 0; ; j++ { // the occupants' presence, then one's own
			if e := c.next(); e.XMLName.Local == "presence" && strings.Contains(e.Inner, "code='110'") {
				break
			}
			if j > i+8 {
				b.Fatalf("no self-presence for occupant %d", i)
			}
		}
		clients[i] = c
		readers.Add(1)
		go func() { // reads until the connection is closed
			defer readers.Done()
			drainRoom(c, arrived)
		}()
	}
	return clients, arrived, func() {
		for _, c := range clients {
			_ = c.conn.Close()
		}
		readers.Wait()
	}
}

// drainRoom reads a client's stream and signals every groupchat body.
func drainRoom(c *client, arrived chan<- struct{}) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var e el
		if err := c.dec.DecodeElement(&e, &start); err != nil {
			return
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "fan-out") {
			arrived <- struct{}{}
		}
	}
}
