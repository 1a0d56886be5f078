//go:build !linux

package cloud

// setTCPUserTimeout: only Linux has TCP_USER_TIMEOUT; elsewhere the dial
// timeout and the keep-alive probes bound what they can.
func setTCPUserTimeout(int, int) error { return nil }
