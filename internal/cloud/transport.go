package cloud

import (
	"net"
	"net/http"
	"syscall"
	"time"
)

// UnreachableAfter bounds how long a request waits on a cloud endpoint
// that has stopped answering at the TCP level: a connection attempt, and
// data sent on an open connection that nothing acknowledges. It is what
// turns "the route to Neutron is gone" into ErrUnreachable in seconds. A
// slow Neutron is not cut short by it (its kernel acknowledges the request
// at once, whatever the server does); DefaultTimeout bounds that.
//
// Without it a keep-alive connection opened before the route went away
// took the kernel's retransmission budget (about a minute with ovn-neutrond,
// past DefaultTimeout with real Neutron) to fail.
const UnreachableAfter = 15 * time.Second

// newTransport is http.DefaultTransport with the dial and the connections
// bounded by UnreachableAfter.
func newTransport() *http.Transport {
	d := &net.Dialer{
		Timeout:   UnreachableAfter,
		KeepAlive: UnreachableAfter,
		Control:   setUserTimeout(UnreachableAfter),
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	return t
}

// setUserTimeout sets TCP_USER_TIMEOUT on TCP sockets: the kernel closes
// the connection (ETIMEDOUT) once data has stayed unacknowledged that
// long, and an idle connection whose keep-alive probes go unanswered.
func setUserTimeout(d time.Duration) func(network, address string, c syscall.RawConn) error {
	return func(network, _ string, c syscall.RawConn) error {
		if network != "tcp" && network != "tcp4" && network != "tcp6" {
			return nil
		}
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = setTCPUserTimeout(int(fd), int(d.Milliseconds()))
		}); err != nil {
			return err
		}
		return serr
	}
}
