package netdev

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Legacy ethtool commands (linux/ethtool.h). ETHTOOL_STXCSUM clears or sets
// every TX checksum feature of the device, which is what "ethtool -K tx"
// does.
const (
	ethtoolGTXCSUM = 0x16
	ethtoolSTXCSUM = 0x17
)

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with ifr_data, padded to the kernel's 40 bytes.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// ethtoolTxChecksum reads (set == nil) or writes TX checksum offload of a
// device in the network namespace of the calling thread: the ioctl acts on
// the namespace the socket was created in.
func ethtoolTxChecksum(name string, set *bool) (bool, error) {
	if len(name) >= unix.IFNAMSIZ {
		return false, fmt.Errorf("interface name %q longer than %d bytes", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("ethtool socket: %w", err)
	}
	defer unix.Close(fd)
	val := &ethtoolValue{cmd: ethtoolGTXCSUM}
	if set != nil {
		val.cmd = ethtoolSTXCSUM
		if *set {
			val.data = 1
		}
	}
	ifr := &ifreqData{data: unsafe.Pointer(val)}
	copy(ifr.name[:], name)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
	runtime.KeepAlive(ifr)
	runtime.KeepAlive(val)
	if errno != 0 {
		return false, fmt.Errorf("ethtool ioctl %#x on %s: %w", val.cmd, name, errno)
	}
	return val.data != 0, nil
}

func setTxChecksum(name string, on bool) error {
	_, err := ethtoolTxChecksum(name, &on)
	return err
}

// TxChecksum reports whether TX checksum offload is on for the device in
// the calling thread's network namespace.
func TxChecksum(name string) (bool, error) { return ethtoolTxChecksum(name, nil) }
