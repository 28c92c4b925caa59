package traffic

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

// tcpHangup is how long a TCP probe waits after connecting for the server
// to hang up: a load balancer with no healthy backend accepts and closes
// (or resets), a live server waits for its client or greets it.
const tcpHangup = 150 * time.Millisecond

// onceTCP probes a tcp://HOST:PORT target (a passthrough load balancer):
// the connection must open and stay open; its latency is the connect time.
func (p *Probe) onceTCP(ctx context.Context, t int, url string) sample {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "tcp://"), "/")
	start := time.Now()
	c, err := p.dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return sample{target: t, d: time.Since(start), err: shortErr(err)}
	}
	defer c.Close()
	s := sample{target: t, d: time.Since(start)}
	_ = c.SetReadDeadline(time.Now().Add(tcpHangup))
	var b [1]byte
	_, err = c.Read(b[:])
	var ne net.Error
	switch {
	case err == nil, errors.As(err, &ne) && ne.Timeout():
	case errors.Is(err, io.EOF):
		s.err = "connection closed by the server at once (no healthy backend?)"
	default:
		s.err = shortErr(err)
	}
	return s
}
