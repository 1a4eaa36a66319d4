package push

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hub wakes the streams waiting on a POP. The zero value is not usable; call
// [NewHub].
type Hub struct {
	mu    sync.Mutex
	wake  map[string]chan struct{}
	ready chan struct{}
	once  sync.Once
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{wake: make(map[string]chan struct{}), ready: make(chan struct{})}
}

// Wait returns a channel that is closed at the next [Hub.Notify] for pop.
// Take the channel before reading the feed, so a change committed between the
// read and the wait is not missed.
func (h *Hub) Wait(pop string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.wake[pop]
	if !ok {
		ch = make(chan struct{})
		h.wake[pop] = ch
	}
	return ch
}

// Notify wakes every stream waiting on pop.
func (h *Hub) Notify(pop string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.wake[pop]; ok {
		close(ch)
		delete(h.wake, pop)
	}
}

// NotifyAll wakes every waiting stream, after a gap in which notifications
// may have been lost.
func (h *Hub) NotifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for pop, ch := range h.wake {
		close(ch)
		delete(h.wake, pop)
	}
}

// Ready is closed once the hub's listener has subscribed for the first time.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Listen holds a dedicated connection to the database at url that LISTENs on
// channel and forwards each notification's payload (a POP id) to the hub. It
// reconnects with backoff and wakes every stream after reconnecting. It
// returns when ctx is done.
func (h *Hub) Listen(ctx context.Context, url, channel string, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listenOnce(ctx, url, channel)
		if ctx.Err() != nil {
			return
		}
		log.Warn("enforcement listener lost its connection; reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (h *Hub) listenOnce(ctx context.Context, url, channel string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	h.once.Do(func() { close(h.ready) })
	// Anything committed while we were not listening is picked up by the
	// streams re-reading the feed.
	h.NotifyAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		h.Notify(n.Payload)
	}
}
