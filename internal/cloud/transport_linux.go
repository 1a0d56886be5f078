package cloud

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func setTCPUserTimeout(fd, ms int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms); err != nil {
		return fmt.Errorf("setting TCP_USER_TIMEOUT: %w", err)
	}
	return nil
}
