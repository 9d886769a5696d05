package sip

import (
	"context"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
)

// handlerPool runs request handlers on long-lived goroutines. sipgo starts
// a goroutine per request, whose stack starts small: every REGISTER and
// MESSAGE grew it (runtime.copystack, 7–8% of the server's CPU under
// ctload) once the handler chain was a few frames deep. A worker keeps the
// stack it grew. The hand-over never waits: when no worker is idle, the
// handler runs on sipgo's goroutine as before, so a handler that blocks
// (a store read, a proxied INVITE) can never hold up another one.
type handlerPool struct {
	jobs chan *handlerJob
	free sync.Pool // *handlerJob
}

// handlerJob is one request handed to a worker; done is signalled when
// the handler has returned.
type handlerJob struct {
	h    func(*sipmsg.Request, sipmsg.ServerTransaction)
	req  *sipmsg.Request
	tx   sipmsg.ServerTransaction
	done chan struct{}
}

// handlerWorkers is how many workers wait for requests. Beyond that many
// at once, handlers run on sipgo's goroutines.
const handlerWorkers = 64

func newHandlerPool() *handlerPool {
	p := &handlerPool{jobs: make(chan *handlerJob)}
	p.free.New = func() any { return &handlerJob{done: make(chan struct{}, 1)} }
	return p
}

// start runs n workers until ctx ends.
func (p *handlerPool) start(ctx context.Context, n int, wg *sync.WaitGroup) {
	for range n {
		wg.Go(func() {
			for {
				select {
				case j := <-p.jobs:
					j.h(j.req, j.tx)
					j.done <- struct{}{}
				case <-ctx.Done():
					return
				}
			}
		})
	}
}

// run calls h(req, tx) on an idle worker, or here when none is idle, and
// returns once h has returned (sipgo ends the transaction after that).
func (p *handlerPool) run(h func(*sipmsg.Request, sipmsg.ServerTransaction), req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	j := p.free.Get().(*handlerJob)
	j.h, j.req, j.tx = h, req, tx
	select {
	case p.jobs <- j:
		<-j.done
	default:
		h(req, tx)
	}
	j.h, j.req, j.tx = nil, nil, nil
	p.free.Put(j)
}

// wrap returns h run through the pool.
func (p *handlerPool) wrap(h func(*sipmsg.Request, sipmsg.ServerTransaction)) func(*sipmsg.Request, sipmsg.ServerTransaction) {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { p.run(h, req, tx) }
}
