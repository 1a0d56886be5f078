package connlimit

import (
	"net"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (read sees EOF or a
// reset rather than a timeout).
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return err != nil && !(ok && ne.Timeout())
}

func TestPerHostAndTotalLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(ln, Config{Total: 3, PerHost: 2})
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := ln.Addr().String()
	a1, a2 := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	s1, s2 := <-accepted, <-accepted
	a3 := dialFrom(t, "127.0.0.1", addr) // third from one host: over PerHost
	if !closedByServer(a3) {
		t.Fatal("third connection from one host was not closed")
	}
	dialFrom(t, "127.0.0.2", addr) // another host still gets in
	<-accepted
	if got := l.Open(); got != 3 {
		t.Fatalf("open = %d, want 3", got)
	}
	b2 := dialFrom(t, "127.0.0.3", addr) // over Total
	if !closedByServer(b2) {
		t.Fatal("connection over the total was not closed")
	}
	// Closing frees the slot.
	s1.Close()
	s1.Close() // a second Close must not free it twice
	a4 := dialFrom(t, "127.0.0.1", addr)
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("slot not freed after Close")
	}
	if got := l.Open(); got != 3 {
		t.Fatalf("open = %d after close and reconnect, want 3", got)
	}
	_, _, _ = a1, a2, a4
	_ = s2
}
