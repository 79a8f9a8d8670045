package udpmcast_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// inNetns runs f on a thread of its own in a network namespace made for
// the call, whose loopback interface is up and has the MULTICAST flag, and
// passes f that interface. The sockets f opens stay in the namespace, which
// lives as long as they do; nothing in it can reach the host's interfaces.
// The thread never leaves the namespace: it ends with the call. inNetns
// returns errNoNetns, with the reason, if the namespace cannot be made (not
// root), and f's error otherwise.
func inNetns(f func(lo *net.Interface) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked once in the namespace: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("%w: unshare(CLONE_NEWNET): %v", errNoNetns, err)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("panic in a network namespace: %v", r)
			}
		}()
		if err := isolated(); err != nil {
			errc <- err
			return
		}
		lo, err := loopbackUp()
		if err != nil {
			errc <- err
			return
		}
		errc <- f(lo)
	}()
	return <-errc
}

var errNoNetns = errors.New("no network namespace")

// isolated checks that the calling thread sees no interface but lo: that
// it is in a fresh namespace, not the host's.
func isolated() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		return fmt.Errorf("a fresh network namespace has %d interfaces, want lo only", len(ifs))
	}
	return nil
}

// loopbackUp sets the UP and MULTICAST flags of the calling thread's
// namespace's lo, and returns it.
func loopbackUp() (*net.Interface, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return nil, fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_MULTICAST)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return nil, fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return net.InterfaceByName("lo")
}

// ip runs ip(8) in the calling thread's namespace (a child process
// inherits its thread's); call it from f in inNetns only.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
