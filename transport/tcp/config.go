package tcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/chatter-go/chatter/core"
	"github.com/chatter-go/chatter/transport"
)

// Defaults of Config.
const (
	// DefaultMaxFrame is the longest frame, codec.DefaultMaxFrameSize.
	DefaultMaxFrame     = 1 << 20
	DefaultDialTimeout  = 2 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultMaxInbound   = 1024
	DefaultQueueLen     = 1024
	DefaultRecvQueue    = 4096
	DefaultBackoff      = 50 * time.Millisecond
	// MaxBackoff caps the re-dial delay, which doubles from Backoff after
	// each failure in a row (unless Backoff is longer).
	MaxBackoff = time.Second
)

// FrameLenFunc tells where a frame ends in a byte stream
// ([transport.FrameLenFunc]); codec.FrameLen is one.
type FrameLenFunc = transport.FrameLenFunc

// Config configures a Transport. Zero fields take their defaults; New fills
// them into a copy and never writes to the caller's Config.
type Config struct {
	// Self is this node's NetID: the address and port it advertises, which
	// its peers dial. It may be zero when Listen is given: Self is then the
	// address the listener is bound to (which must not be unspecified, as
	// 0.0.0.0 is), so a test can listen on "127.0.0.1:0" and learn its
	// port from Transport.Self.
	Self core.NetID
	// Listen is the address to listen on, as net.Listen takes it; default
	// Self's address and port. It differs from Self where the bound
	// address is not the advertised one (NAT, containers): Self
	// 203.0.113.7:29999 with Listen ":29999".
	Listen string
	// FrameLen splits the inbound streams into frames, and Send checks with
	// it that each frame it is given is exactly one frame. Required: pass
	// codec.FrameLen for Chatter's wire format. (The transport does not
	// import codec, by the dependency rule: adapters import core only.)
	FrameLen FrameLenFunc
	// Dial opens a connection to a peer; default a net.Dialer. Its context
	// ends after DialTimeout or when the transport closes. Tests inject it
	// to dial from inside a network namespace, or through an in-memory
	// pipe.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ListenFunc opens the listener; default a net.ListenConfig. New calls
	// it once, with network "tcp".
	ListenFunc func(ctx context.Context, network, addr string) (net.Listener, error)
	// MaxFrame is the longest frame sent or received; default
	// DefaultMaxFrame. A longer frame is refused by Send (core.ErrTooLarge)
	// and closes an inbound stream that claims one.
	MaxFrame int
	// DialTimeout bounds a dial; default DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds each batch of writes to a peer (at most 256 KiB
	// of frames and one more); default DefaultWriteTimeout. A peer that does
	// not read in time counts as failed.
	WriteTimeout time.Duration
	// IdleTimeout closes an outgoing connection nothing was sent on for
	// that long (the next Send dials again), and an inbound one nothing
	// arrived on for that long; default DefaultIdleTimeout, negative for
	// never.
	IdleTimeout time.Duration
	// MaxInbound caps the inbound connections open at once; default
	// DefaultMaxInbound. One accepted beyond it is closed at once and
	// counted in Stats.Rejected.
	MaxInbound int
	// QueueLen bounds each peer's queue of frames waiting to be written;
	// default DefaultQueueLen. Send blocks while it is full.
	QueueLen int
	// RecvQueue bounds the frames received and waiting for Receive;
	// default DefaultRecvQueue. While it is full the connections are not
	// read, so their senders slow down (TCP flow control).
	RecvQueue int
	// Backoff is how long a peer that could not be dialled, or whose
	// connection failed, is reported unreachable before it is dialled
	// again; default DefaultBackoff. It doubles with each failure in a row,
	// up to max(MaxBackoff, Backoff), and starts again from Backoff once a
	// connection has taken writes for MaxBackoff.
	Backoff time.Duration
	// Logger receives connection events (debug) and bad streams (warn);
	// default none.
	Logger *slog.Logger
}

// Validate reports whether c is usable: a valid Self or a Listen address,
// a FrameLen, and no negative size or duration (IdleTimeout excepted).
func (c Config) Validate() error {
	var errs []error
	if !c.Self.IsValid() && c.Listen == "" {
		errs = append(errs, errors.New("tcp: Config needs Self or Listen"))
	}
	if c.FrameLen == nil {
		errs = append(errs, errors.New("tcp: Config.FrameLen is required (codec.FrameLen)"))
	}
	if c.MaxFrame < 0 || c.MaxInbound < 0 || c.QueueLen < 0 || c.RecvQueue < 0 {
		errs = append(errs, fmt.Errorf("tcp: negative MaxFrame %d, MaxInbound %d, QueueLen %d or RecvQueue %d",
			c.MaxFrame, c.MaxInbound, c.QueueLen, c.RecvQueue))
	}
	if c.DialTimeout < 0 || c.WriteTimeout < 0 || c.Backoff < 0 {
		errs = append(errs, fmt.Errorf("tcp: negative DialTimeout %v, WriteTimeout %v or Backoff %v",
			c.DialTimeout, c.WriteTimeout, c.Backoff))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = c.Self.AddrPort().String()
	}
	c.MaxFrame = cmp.Or(c.MaxFrame, DefaultMaxFrame)
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxInbound = cmp.Or(c.MaxInbound, DefaultMaxInbound)
	c.QueueLen = cmp.Or(c.QueueLen, DefaultQueueLen)
	c.RecvQueue = cmp.Or(c.RecvQueue, DefaultRecvQueue)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	if c.Dial == nil {
		c.Dial = new(net.Dialer).DialContext
	}
	if c.ListenFunc == nil {
		var lc net.ListenConfig
		c.ListenFunc = lc.Listen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
